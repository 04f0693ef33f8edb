"""Settings, all read from the environment (see the README's configuration table and `.env.example`).

Development needs no configuration at all: `make run` sets DEBUG=true and everything else has a
safe default. Production (DEBUG off) refuses to start without a SECRET_KEY.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from confluence.converter import MathMacros

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "data"

env = environ.Env()
# A local `.env` is optional; real deployments set the environment directly.
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off the portal needs a SECRET_KEY in the environment "
            "(50+ random characters, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# How many reverse proxies stand between the client and the portal. 0: trust no forwarding header
# (the client address is REMOTE_ADDR). N > 0: the client address is the Nth entry from the right of
# X-Forwarded-For, and X-Forwarded-Proto says whether the original request was HTTPS. Counting hops
# instead of trusting the whole header means a client cannot spoof its address by sending its own.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)
if TRUSTED_PROXY_HOPS > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal",
    "tokens",
    "imports",
    "directory",
    "django_tasks",
    "django_tasks_db",
    "publications",
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE takes the write lock when a transaction starts, so concurrent writers queue on
            # the busy timeout instead of failing with "database is locked" when a read lock is upgraded.
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
            # WAL lets readers go on while one process writes.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# Connections are kept between requests on every engine: opening one per request (and, for SQLite in WAL
# mode, checkpointing when the last one closes) cost ~30 ms an import in the benchmarks.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------------------

# Local memory is per process. With several processes (gunicorn workers, several servers) set
# CACHE_URL to dbcache://portal_cache or redis://host:6379/0 so throttles and short-lived state
# are shared between them.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://portal")}
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # A Redis that stops answering costs each request at most this long before the portal goes on without it
    # (portal/cache.py); without a bound, a host that drops packets would hold requests for the OS's TCP timeout.
    CACHES["default"].setdefault("OPTIONS", {}).update(socket_connect_timeout=1.0, socket_timeout=1.0)

# --- Auth, i18n, static -------------------------------------------------------------------------

# Roles (groups) kept in step after every migrate (portal/roles.py): the auditor looks at everything, changes nothing.
ROLES = {
    "auditor": [
        "tokens.view_instance",
        "tokens.view_license",
        "tokens.view_licensechange",
        "tokens.view_token",
        "tokens.view_tokenevent",
        "imports.view_*",
        "directory.view_*",
        "publications.view_*",
    ],
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security -----------------------------------------------------------------------------------

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Never allow a request through to the healthcheck to be redirected: load balancers probe over HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- API ----------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    # Every endpoint takes a portal token, set once here; the schema, its docs page and the JSON 404 opt out.
    "DEFAULT_AUTHENTICATION_CLASSES": ["tokens.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tokens.auth.HasToken"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "portal.negotiation.JSONFirstNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "NUM_PROXIES": TRUSTED_PROXY_HOPS,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Markdown to Confluence portal API",
    "DESCRIPTION": "Import Markdown into Confluence Cloud pages with a portal-issued bearer token.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ImportStatusEnum": "imports.models.ImportRecord.Status",
        "ImportOperationEnum": "imports.models.ImportRecord.Operation",
        # A multipart form's true/false fields (an import's overwrite, a publication's dryRun): one schema component.
        "FormBooleanEnum": ["true", "false"],
    },
}

# Encrypts the Confluence API tokens stored in the database (see portal/crypto.py).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")

# --- Confluence and imports ---------------------------------------------------------------------

CONFLUENCE_CONNECT_TIMEOUT = env.float("CONFLUENCE_CONNECT_TIMEOUT", default=5.0)
CONFLUENCE_READ_TIMEOUT = env.float("CONFLUENCE_READ_TIMEOUT", default=30.0)
# The longest one import may spend on Confluence, retries and Retry-After waits included.
CONFLUENCE_DEADLINE = env.float("CONFLUENCE_DEADLINE", default=60.0)
IMPORT_MAX_CONTENT_BYTES = env.int("IMPORT_MAX_CONTENT_BYTES", default=1024 * 1024)
IMPORT_RATE_LIMIT_PER_MINUTE = env.int("IMPORT_RATE_LIMIT_PER_MINUTE", default=60)
IMPORT_ABANDON_AFTER_SECONDS = env.int("IMPORT_ABANDON_AFTER_SECONDS", default=900)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
# A JSON string can spell one byte of content in up to 6 bytes ("\u0001"), so a body may be larger than
# its content; anything beyond this bound is refused from Content-Length alone, before it is read.
IMPORT_MAX_BODY_BYTES = IMPORT_MAX_CONTENT_BYTES * 6 + 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = max(IMPORT_MAX_BODY_BYTES, 2_621_440)
# The files a multipart import may carry, all together; a larger request is refused from Content-Length alone.
IMPORT_MAX_ATTACHMENT_BYTES = env.int("IMPORT_MAX_ATTACHMENT_BYTES", default=25 * 1024 * 1024)
# Failed token authentications allowed per client address and minute before 429 (guessing is slow).
TOKEN_AUTH_FAILURES_PER_MINUTE = env.int("TOKEN_AUTH_FAILURES_PER_MINUTE", default=20)
# Page-view look-ups (two v1 analytics calls a page) run this many at a time during a directory sync.
DIRECTORY_ANALYTICS_CONCURRENCY = env.int("DIRECTORY_ANALYTICS_CONCURRENCY", default=3)
# A running directory sync that has not reported for this long is taken to be dead (its worker or command was
# killed) and marked failed with what it had synced. Longer than publications': one Confluence call may take up to
# CONFLUENCE_DEADLINE plus a read timeout before the sync reports again.
DIRECTORY_SYNC_STALE_AFTER_SECONDS = env.int("DIRECTORY_SYNC_STALE_AFTER_SECONDS", default=300)

# --- Background tasks and publications ----------------------------------------------------------

# Django's task framework (the django-tasks backport): jobs are rows in the database, run by
# `manage.py run_worker` processes (any number, on any host that reaches the database).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# How many worker processes `make run` starts beside the portal (production starts its own: see the README).
TASK_WORKERS = env.int("TASK_WORKERS", default=1)
# Seconds a worker waits between looks at an empty queue.
TASK_WORKER_INTERVAL = env.float("TASK_WORKER_INTERVAL", default=1.0)
# Pages written to one Confluence instance at once, counted over every worker process on every host.
PUBLICATION_CONCURRENCY_PER_INSTANCE = env.int("PUBLICATION_CONCURRENCY_PER_INSTANCE", default=3)
# Bundle limits: the upload itself, the files in it, their total size once unpacked, and the compression ratio.
PUBLICATION_MAX_UPLOAD_BYTES = env.int("PUBLICATION_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
PUBLICATION_MAX_FILES = env.int("PUBLICATION_MAX_FILES", default=2000)
PUBLICATION_MAX_TOTAL_BYTES = env.int("PUBLICATION_MAX_TOTAL_BYTES", default=200 * 1024 * 1024)
PUBLICATION_MAX_FILE_BYTES = env.int("PUBLICATION_MAX_FILE_BYTES", default=50 * 1024 * 1024)
PUBLICATION_MAX_RATIO = env.int("PUBLICATION_MAX_RATIO", default=100)
# Storage bodies larger than this are split at headings into a parent page and child pages.
PUBLICATION_MAX_PAGE_BYTES = env.int("PUBLICATION_MAX_PAGE_BYTES", default=1024 * 1024)
# Publications per token and minute (`429 rate_limited`).
PUBLICATION_RATE_LIMIT_PER_MINUTE = env.int("PUBLICATION_RATE_LIMIT_PER_MINUTE", default=10)
# A running publication whose worker has not reported for this long is taken to be dead: it is queued again,
# up to PUBLICATION_MAX_ATTEMPTS runs in all, then marked failed with the pages done so far.
PUBLICATION_STALE_AFTER_SECONDS = env.int("PUBLICATION_STALE_AFTER_SECONDS", default=120)
PUBLICATION_MAX_ATTEMPTS = env.int("PUBLICATION_MAX_ATTEMPTS", default=3)

PORTAL_NAME = env.str("PORTAL_NAME", default="Markdown → Confluence portal")

# --- Conversion (docs/converter.md) -------------------------------------------------------------

# Diagram renderers; empty: a diagram is shown as its source. The Mermaid CLI command (e.g. `mmdc`), the
# Chromium it drives, PlantUML's command line (e.g. `java -jar /opt/plantuml.jar`) or a PlantUML server URL.
MERMAID_CLI = env.str("MERMAID_CLI", default="")
MERMAID_CHROMIUM = env.str("MERMAID_CHROMIUM", default="/usr/bin/chromium")
PLANTUML_COMMAND = env.str("PLANTUML_COMMAND", default="")
PLANTUML_SERVER_URL = env.str("PLANTUML_SERVER_URL", default="")
DIAGRAM_TIMEOUT = env.float("DIAGRAM_TIMEOUT", default=60.0)
# The LaTeX macros of the site's math app, "block,inline[,inline-parameter]"; empty: math is shown as LaTeX code.
MATH_MACROS = env.str("MATH_MACROS", default="")
try:
    MathMacros.parse(MATH_MACROS)
except ValueError as _error:
    raise ImproperlyConfigured(f"MATH_MACROS: {_error} (e.g. 'mathblock,mathinline,body', or nothing)") from None

# --- Logging ------------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logging.RequestIdFilter"}},
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            # Servers log to LOG_STREAM (stdout by default). manage.py sets it to stderr for every command that is
            # not a server, whatever the environment says, so a command's stdout is only what it prints.
            "stream": f"ext://sys.{env.str('LOG_STREAM', default='stdout')}",
            "filters": ["request_id"],
            "formatter": "line",
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Unhandled exceptions only; our own request line (portal.request) covers every request.
        "django.request": {"level": "ERROR"},
        # runserver's access line would log query strings; portal.request replaces it.
        "django.server": {"handlers": [], "propagate": False},
    },
}

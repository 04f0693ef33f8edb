"""`.env.example` copied whole, with only the secret filled in, gives a working portal.

Its values are handed to real processes as their environment (which is what `.env` becomes: settings read it
without overriding what the environment already says), the database moved to a scratch file. Among them:
`CACHE_URL` points at a Redis that is not running here, `LOG_STREAM=stdout`, HTTPS redirects on, one trusted proxy.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN, StandinServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FILLED_IN = {"SECRET_KEY": "env-example-smoke-" + "k" * 50}


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    values = env_example()
    missing = [name for name in FILLED_IN if values.get(name)]
    assert not missing, f".env.example must leave the secrets empty: {missing}"
    scratch = tmp_path_factory.mktemp("env-example")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **values,
        **FILLED_IN,
        "DATABASE_URL": f"sqlite:///{scratch / 'portal.sqlite3'}",
        "STATIC_ROOT": str(scratch / "static"),
        "BIND": f"127.0.0.1:{free_port()}",
        "WEB_CONCURRENCY": "2",
    }


def manage(environment: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env={**environment, **extra}, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def standin():
    with StandinServer(port=0) as server:
        yield server


@pytest.fixture(scope="module")
def portal(environment, standin):
    # What the README's production section (and `make serve`) does before serving.
    assert manage(environment, "migrate", "--noinput").returncode == 0
    assert manage(environment, "collectstatic", "--noinput").returncode == 0
    created = manage(
        environment, "create_instance", "demo", "--url", standin.url, "--email", DEFAULT_EMAIL,
        "--license-until", "2099-12-31", CONFLUENCE_API_TOKEN=DEFAULT_TOKEN,
    )
    assert created.returncode == 0, created.stderr
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "portal/gunicorn.conf.py", "portal.wsgi"],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://{environment['BIND']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1).close()  # noqa: S310 - loopback
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            assert server.poll() is None, server.stdout.read()
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=30)


def request(base: str, path: str, *, token: str | None = None, body: dict | None = None) -> tuple[int, dict, str]:
    """As the one trusted proxy in front of the portal forwards a client's HTTPS request."""
    headers = {"Host": "portal.example.com", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"{base}{path}", data=data, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310 - loopback
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_issue_token_prints_the_secret_alone_although_log_stream_says_stdout(environment, portal):
    assert environment["LOG_STREAM"] == "stdout"
    issued = manage(environment, "issue_token", "--instance", "demo", "--label", "smoke-cli", "--days", "1")
    assert issued.returncode == 0, issued.stderr
    assert len(issued.stdout.splitlines()) == 1
    assert issued.stdout.startswith("mdi_")
    assert "token" in issued.stderr  # the log line went to stderr


def test_the_deploy_check_passes_once_static_files_are_collected(environment, portal):
    checked = manage(environment, "check", "--deploy", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_portal_serves_its_pages_and_api_with_the_example_settings(environment, portal):
    secret = manage(environment, "issue_token", "--instance", "demo", "--label", "smoke-api", "--days", "1").stdout.strip()

    assert request(portal, "/healthz")[0] == 200
    status, _, home = request(portal, "/")
    assert status == 200 and "Markdown → Confluence portal" in home
    assert request(portal, "/admin/login/")[0] == 200

    status, _, body = request(portal, "/api/v1/token", token=secret)
    assert status == 200, body
    assert json.loads(body)["label"] == "smoke-api"
    status, _, body = request(portal, "/api/v1/token", token="mdi_not-a-real-token")
    assert status == 401 and json.loads(body)["error"]["code"] == "token_invalid"

    status, _, body = request(
        portal, "/api/v1/imports", token=secret,
        body={"spaceId": "DEMO", "pageTitle": "Smoke", "content": "# Smoke\n\nFrom the example settings."},
    )
    assert status == 201, body
    assert json.loads(body)["status"] == "created"


def test_plain_http_is_sent_to_https(environment, portal):
    req = urllib.request.Request(f"{portal}/admin/login/", headers={"Host": "portal.example.com"})  # noqa: S310
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(req, timeout=10)
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"].startswith("https://portal.example.com/")


def test_the_deploy_check_says_when_static_files_were_not_collected(environment, tmp_path):
    checked = manage(environment, "check", "--deploy", STATIC_ROOT=str(tmp_path / "never-collected"))
    assert checked.returncode != 0
    assert "Static files are not collected" in checked.stderr
    assert "collectstatic" in checked.stderr


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

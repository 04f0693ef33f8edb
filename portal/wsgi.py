import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Import every view now rather than on the first request, then take everything loaded so far (modules, models,
# URL patterns: objects that live as long as the process) out of the garbage collector's sight. Each full
# collection otherwise walks them all again; an import allocates enough (the Markdown tree) to trigger several,
# and freezing cut the conversion's CPU inside a gunicorn worker by ~0.4 ms an import (docs/performance.md).
get_resolver().url_patterns  # noqa: B018 - evaluated for its side effect: the URLconf and its views are imported
gc.collect()
gc.freeze()

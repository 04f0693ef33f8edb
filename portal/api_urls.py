"""The versioned API: every app's endpoints under /api/v1/.

The apps' pattern lists are joined into one list rather than included one by one: resolving a path then builds one
level of matches instead of one per app (Django makes a ResolverMatch at every level it passes through).
"""

from importlib import import_module

APPS = ["tokens", "imports", "publications"]

urlpatterns = [pattern for app in APPS for pattern in import_module(f"{app}.api_urls").urlpatterns]

"""System checks that `manage.py check --deploy` runs: what a production start would otherwise find out as a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.staticfiles, deploy=True)
def static_files_collected(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    # With the manifest storage, a page naming a static file that collectstatic never saw raises while rendering.
    backend = settings.STORAGES.get("staticfiles", {}).get("BACKEND", "")
    if "Manifest" not in backend or not settings.STATIC_ROOT:
        return []
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.is_file():
        return []
    return [
        Error(
            f"Static files are not collected: {manifest} is missing, so every admin page would fail.",
            hint="Run `python manage.py collectstatic --noinput` (make serve does) after each deploy.",
            id="portal.E001",
        )
    ]

"""What a server process holds once `portal.wsgi` is imported, before its first request."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
import portal.wsgi
print(gc.get_freeze_count(), all(name in sys.modules for name in ("tokens.views", "imports.views", "publications.views")))
"""


def test_the_views_are_loaded_and_the_startup_objects_frozen_before_the_first_request(tmp_path):
    environment = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    frozen, views_loaded = result.stdout.split()
    # Django alone leaves well over 50,000 objects; freezing them spares every full collection a walk over them.
    assert int(frozen) > 50_000
    assert views_loaded == "True"

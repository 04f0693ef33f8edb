"""The architecture, checked: the kernel of portal/ and confluence/ import no app, and apps import only apps below
them (tokens ← imports ← directory, publications). A new import that points up fails here, with the line named."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("tokens", "imports", "directory", "publications")
# What each package may import of the apps; the project wiring (urls, the dashboard that composes the apps'
# figures, its template tag, migrations) sits on top and may import any.
ALLOWED = {
    "confluence": (),
    "portal": (),
    "tokens": (),
    "imports": ("tokens",),
    "directory": ("tokens", "imports"),
    "publications": ("tokens", "imports"),
}
PROJECT_WIRING = {"portal/urls.py", "portal/api_urls.py", "portal/dashboard.py", "portal/templatetags/portal_dashboard.py"}


def imported_apps(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found += [(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in APPS]
    return found


def sources(package: str) -> list[Path]:
    return [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package: str) -> None:
    wrong = []
    for path in sources(package):
        relative = path.relative_to(ROOT).as_posix()
        if relative in PROJECT_WIRING:
            continue
        for line, app in imported_apps(path):
            if app != package and app not in ALLOWED[package]:
                wrong.append(f"{relative}:{line} imports {app}")
    assert not wrong, "\n".join(wrong)


def test_confluence_is_free_of_django() -> None:
    for path in sources("confluence"):
        text = path.read_text(encoding="utf-8")
        assert "import django" not in text and "from django" not in text, path

"""The real client, run in-process (`main(argv)`) or as its console script, against the real portal (a live
server over HTTP, with the Confluence stand-in behind it) or a small server speaking the publications contract."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from portal_publish.cli import main

from tests.client.fake_publications import TOKEN, FakePublications
from tests.factories import make_instance
from tokens.models import Instance
from tokens.services import IssuedToken, token_issue

SCRIPT = Path(sys.executable).parent / "portal-publish"
# A 1x1 PNG: what a docs folder's images are, bytes that are not text.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000100"
    "05fe02fea7d6a4f50000000049454e44ae426082"
)
CI_VARIABLES = (
    "PORTAL_URL", "PORTAL_TOKEN", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE", "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT", "CI_JOB_ID", "NO_COLOR", "FORCE_COLOR",
)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def run_cli(*argv: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path) -> None:
    """No CI variable of the machine running the suite leaks in; files are made under a fresh folder."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@dataclass
class Portal:
    url: str
    instance: Instance
    issued: IssuedToken


@pytest.fixture
def portal(transactional_db, live_server, standin, fake_sleep, monkeypatch) -> Portal:
    from django.core.cache import cache

    cache.clear()  # the failed-authentication throttle counts per address across tests otherwise
    instance = make_instance("acme", url=standin.url)
    issued = token_issue(instance=instance, label="ci-docs", days=7, actor=None)
    monkeypatch.setenv("PORTAL_URL", live_server.url)
    monkeypatch.setenv("PORTAL_TOKEN", issued.secret)
    return Portal(live_server.url, instance, issued)


@pytest.fixture
def fake(monkeypatch) -> Iterator[FakePublications]:
    with FakePublications() as server:
        monkeypatch.setenv("PORTAL_URL", server.url)
        monkeypatch.setenv("PORTAL_TOKEN", TOKEN)
        yield server


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def docs_tree(root: Path) -> Path:
    """A small docs folder: pages in nested folders, links between them, images, and files to leave out."""
    docs = root / "docs"
    write(docs / "index.md", "# Handbook\n\nStart with [setup](guide/setup.md#install).\n\n![logo](images/logo.png)\n")
    write(docs / "guide" / "setup.md", "# Setup\n\n## Install\n\nSee [home](../index.md).\n\n![diagram](img/flow.png)\n")
    write(docs / "guide" / "img" / "flow.png", PNG + b"flow")
    write(docs / "guide" / "usage.md", "# Usage\n\nRun it. Back to [setup](setup.md).\n")
    write(docs / "images" / "logo.png", PNG)
    write(docs / "drafts" / "wip.md", "# Work in progress\n")
    write(docs / "scratch.tmp", "notes")
    write(docs / ".mdignore", "# not for Confluence\ndrafts/\n")
    write(docs / ".git" / "config", "[core]\n")
    return docs


def environment(**extra: str) -> dict[str, str]:
    """The environment of a console-script run: this one, with the test's PORTAL_* and no CI variables."""
    env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES or k.startswith("PORTAL_")}
    return {**env, **extra}

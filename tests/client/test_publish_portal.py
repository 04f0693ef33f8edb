"""`portal-publish PATH...` against the real portal: the live server takes the bundle, `manage.py run_worker` (a
real worker process on the same database) publishes it to the stand-in, and the client waits and reports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from publications.models import Publication
from tests.client.conftest import SCRIPT, docs_tree, environment, run_cli, write
from tests.imports.conftest import page_titled

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = f"{quote(db['USER'])}:{quote(db['PASSWORD'])}@" if db["USER"] else ""
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(portal, settings, tmp_path):
    """The portal's background worker, as `make run` starts it, on the test's database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "TASK_WORKER_INTERVAL": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_worker"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    # Shown by pytest when the test failed: what the worker said (a failed run's traceback is only there).
    print(log.read_text())


def test_a_folder_with_images_and_links_publishes_then_a_second_run_is_all_unchanged(portal, worker, standin, tmp_path):
    docs_tree(tmp_path)

    first = run_cli("docs", "--space", "DOCS", "--source-ref", "acme/handbook@c1", "--exclude", "*.tmp")

    assert first.code == 0, first.err + first.out
    lines = first.out.splitlines()
    # guide/ has no index.md: a plain page for the folder holds its pages.
    assert lines[-1] == "succeeded: 4 pages (4 created)", first.out
    handbook, guide = page_titled(standin, "DOCS", "Handbook"), page_titled(standin, "DOCS", "Guide")
    setup = page_titled(standin, "DOCS", "Setup")
    assert guide.parent_id == handbook.id
    assert setup.parent_id == guide.id and page_titled(standin, "DOCS", "Usage").parent_id == guide.id
    assert {a.title for a in handbook.attachments.values()} == {"logo.png"}
    assert {a.title for a in setup.attachments.values()} == {"flow.png"}
    assert page_titled(standin, "DOCS", "Work in progress") is None, ".mdignore'd drafts stay home"
    setup_line = next(line for line in lines if " guide/setup.md " in line)
    assert setup_line.startswith("created ") and '"Setup"' in setup_line
    assert f"{standin.url}/wiki/spaces/DOCS/pages/{setup.id}" in setup_line
    assert "(attachments: 1 uploaded)" in setup_line
    [publication] = Publication.objects.all()
    assert f"publication {publication.pk} queued: " in first.err

    second = run_cli("docs", "--space", "DOCS", "--source-ref", "acme/handbook@c2", "--exclude", "*.tmp")

    assert second.code == 0, second.err
    assert second.out.splitlines()[-1] == "succeeded: 4 pages (4 unchanged)", second.out
    assert page_titled(standin, "DOCS", "Setup").version == setup.version


def test_a_dry_run_prints_the_preview_and_writes_nothing(portal, worker, standin, tmp_path):
    docs = docs_tree(tmp_path)
    assert run_cli("docs", "--space", "DOCS").code == 0
    write(docs / "guide" / "setup.md", "# Setup\n\n## Install\n\nSee [the handbook](../index.md), twice.\n")
    version = page_titled(standin, "DOCS", "Setup").version

    result = run_cli("docs", "--space", "DOCS", "--dry-run")

    assert result.code == 0, result.err
    out = result.out.splitlines()
    setup_line = next(line for line in out if " guide/setup.md " in line)
    assert setup_line.startswith("would update  guide/setup.md ")
    assert any(line.startswith("+") and "twice" in line for line in out), result.out
    assert any(line.startswith("-") and "twice" not in line and not line.startswith("---") for line in out)
    assert out[-1] == "dry run: succeeded: 4 pages (3 unchanged, 1 would update)", result.out
    assert page_titled(standin, "DOCS", "Setup").version == version


def test_a_failing_page_gives_exit_1_and_an_annotation(portal, worker, standin, tmp_path, monkeypatch):
    docs = docs_tree(tmp_path)
    write(docs / "guide" / "clash.md", "# Clash\n\nMine.\n")
    space = standin.state.spaces[standin.state.space_by_key["DOCS"]]
    standin.state.add_page(space_id=space.id, title="Clash", body="<p>someone else's</p>", parent_id=space.homepage_id)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))

    result = run_cli("docs", "--space", "DOCS", "--github")

    assert result.code == 1, result.err
    clash = next(line for line in result.out.splitlines() if " guide/clash.md " in line)
    assert clash.startswith("failed ") and "title_exists: " in clash
    annotations = [line for line in result.out.splitlines() if line.startswith("::error ")]
    assert len(annotations) == 1
    assert annotations[0].startswith("::error file=docs/guide/clash.md,title=portal-publish%3A title_exists::Clash: ")
    assert result.out.splitlines()[-2 - len(annotations):-len(annotations)] == [
        "partial: 5 pages (4 created, 1 failed)",
        "hint: title_exists: a page with this title exists; pass --overwrite to update it",
    ]
    assert "| ❌ | Clash | `guide/clash.md` | failed: title_exists: " in summary.read_text()


def test_ctrl_c_while_the_publication_waits_for_a_worker(portal, tmp_path):
    """No worker runs: the publication stays queued, and the user gives up waiting."""
    docs_tree(tmp_path)
    process = subprocess.Popen(
        [str(SCRIPT), "docs", "--space", "DOCS"], cwd=tmp_path, env=environment(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not Publication.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # a poll or two of the queued publication
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    [publication] = Publication.objects.all()
    assert process.returncode == 130, err
    assert err.splitlines()[-1].startswith(
        f"portal-publish: interrupted: publication {publication.pk} goes on in the portal; follow it with "
        f"'portal-publish status {publication.pk} --wait' or GET "
    )
    assert publication.state == "queued"


def test_orphans_and_links_out_of_the_bundle_are_reported(portal, worker, standin, tmp_path, monkeypatch):
    docs = docs_tree(tmp_path)
    assert run_cli("docs", "--space", "DOCS", "--source-ref", "acme/handbook@c1").code == 0
    (docs / "guide" / "usage.md").unlink()
    write(docs / "index.md", "# Handbook\n\nSee [the changelog](../CHANGELOG.md).\n\n![logo](images/logo.png)\n")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))

    result = run_cli("docs", "--space", "DOCS", "--source-ref", "acme/handbook@c2", "--github")

    assert result.code == 0, result.out + result.err
    usage = page_titled(standin, "DOCS", "Usage")
    assert usage is not None, "an orphan is reported, never deleted"
    out = result.out.splitlines()
    assert any(line.startswith("orphan      guide/usage.md  \"Usage\"") for line in out), result.out
    assert "broken      index.md: link to ../CHANGELOG.md leaves the bundle" in out
    assert any(
        line.startswith("::warning file=docs/index.md,title=portal-publish%3A broken link::link to ../CHANGELOG.md")
        for line in out
    )
    assert any(line.startswith("::notice title=portal-publish%3A orphaned page::\"Usage\"") for line in out)


def test_a_page_edited_in_confluence_is_a_drift_warning_until_overwrite_force(portal, worker, standin, tmp_path,
                                                                            monkeypatch):
    docs = docs_tree(tmp_path)
    assert run_cli("docs", "--space", "DOCS").code == 0
    setup = page_titled(standin, "DOCS", "Setup")
    setup.body, setup.version = "<p>Edited by hand.</p>", setup.version + 1
    write(docs / "guide" / "setup.md", "# Setup\n\nNew text.\n")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))

    kept = run_cli("docs", "--space", "DOCS", "--github")

    assert kept.code == 1
    out = kept.out.splitlines()
    assert any(line.startswith("drifted     guide/setup.md ") for line in out), kept.out
    assert "hint: drifted: the page was edited in Confluence since the portal wrote it; --overwrite=force replaces the edit" in out
    assert any(line.startswith("::warning file=docs/guide/setup.md,title=portal-publish%3A drifted::Setup: ") for line in out)
    assert setup.body == "<p>Edited by hand.</p>"

    forced = run_cli("docs", "--space", "DOCS", "--overwrite=force")

    assert forced.code == 0, forced.out
    assert any(line.startswith("updated     guide/setup.md ") for line in forced.out.splitlines())
    assert "New text." in setup.body


def test_the_same_command_again_in_the_same_job_is_answered_with_the_first_publication(portal, worker, tmp_path,
                                                                                      monkeypatch):
    docs_tree(tmp_path)
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "1")
    first = run_cli("docs", "--space", "DOCS")
    again = run_cli("docs", "--space", "DOCS")

    assert (first.code, again.code) == (0, 0)
    [publication] = Publication.objects.all()
    assert again.out == first.out
    assert f"publication {publication.pk} succeeded: " in again.err, "the answer of the first, as it stands now"

    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    rerun = run_cli("docs", "--space", "DOCS")
    assert rerun.code == 0 and Publication.objects.count() == 2
    assert rerun.out.splitlines()[-1] == "succeeded: 4 pages (4 unchanged)"

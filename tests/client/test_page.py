"""`portal-publish page FILE`: one Markdown file through POST /api/v1/imports of the real portal."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from imports.models import ImportRecord
from tests.client.conftest import SCRIPT, environment, run_cli, write
from tests.imports.conftest import page_titled
from tokens.services import token_issue, token_revoke

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_page_is_created_then_left_unchanged(portal, standin, tmp_path):
    notes = write(tmp_path / "docs" / "notes.md", "# Release notes\n\nHello **world**.\n")

    first = run_cli("page", str(notes), "--space", "DOCS", "--title", "Release notes", "--label", "release")
    assert first.code == 0, first.err
    page = page_titled(standin, "DOCS", "Release notes")
    assert page is not None and "<strong>world</strong>" in page.body
    assert [name for _, name in page.labels] == ["release"]
    assert first.out == (
        f'created    "Release notes"  {standin.url}/wiki/spaces/DOCS/pages/{page.id}/Release+notes  '
        f"(page {page.id}, version 1, space DOCS)\n"
    )

    again = run_cli("page", str(notes), "--space", "DOCS", "--title", "Release notes", "--overwrite")
    assert again.code == 0, again.err
    assert again.out.startswith("unchanged ") and f"page {page.id}, version 1" in again.out


def test_the_import_carries_an_idempotency_key_and_the_client_name(portal, tmp_path):
    notes = write(tmp_path / "notes.md", "# Notes\n")
    assert run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes").code == 0
    record = ImportRecord.objects.get()
    assert record.idempotency_key.startswith("portal-publish-import-")
    assert record.user_agent.startswith("portal-publish/")


def test_json_prints_the_portals_answer(portal, tmp_path):
    notes = write(tmp_path / "notes.md", "Some text\n")
    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "From JSON", "--json")
    assert result.code == 0
    body = json.loads(result.out)
    assert body["status"] == "created" and body["pageTitle"] == "From JSON" and body["spaceKey"] == "DOCS"


def test_a_title_taken_fails_the_page_with_exit_1_an_annotation_and_a_summary(portal, tmp_path, monkeypatch):
    notes = write(tmp_path / "docs" / "notes.md", "# Notes\n")
    assert run_cli("page", "docs/notes.md", "--space", "DOCS", "--title", "Notes").code == 0
    write(notes, "# Notes\n\nChanged.\n")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))

    result = run_cli("page", "docs/notes.md", "--space", "DOCS", "--title", "Notes", "--github")

    assert result.code == 1
    [line] = result.err_lines
    assert line.startswith("portal-publish: error: HTTP 409 title_exists: ")
    assert "pass --overwrite to update it" in line
    [annotation] = result.out.splitlines()
    assert annotation.startswith("::error file=docs/notes.md,title=portal-publish%3A title_exists::HTTP 409 title_exists")
    assert "title_exists" in summary.read_text() and summary.read_text().startswith("### portal-publish failed")


def test_a_revoked_token_is_exit_2_with_one_line(portal, tmp_path):
    notes = write(tmp_path / "notes.md", "# Notes\n")
    token_revoke(token=portal.issued.token, actor=None)

    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes")

    assert result.code == 2
    assert result.out == ""
    [line] = result.err_lines
    assert line.startswith("portal-publish: error: HTTP 401 token_revoked: The token has been revoked.")
    assert "ask a portal admin for a new token and update PORTAL_TOKEN" in line
    assert "[request " in line


def test_a_space_outside_the_tokens_scope_is_exit_2(portal, tmp_path, monkeypatch):
    scoped = token_issue(instance=portal.instance, label="only-demo", days=1, spaces=["DEMO"], actor=None)
    notes = write(tmp_path / "notes.md", "# Notes\n")
    monkeypatch.setenv("PORTAL_TOKEN", scoped.secret)
    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes")
    assert result.code == 2
    assert "space_forbidden" in result.err and "use a space it allows" in result.err


def test_without_portal_url_or_token_nothing_is_sent(tmp_path, monkeypatch):
    notes = write(tmp_path / "notes.md", "# Notes\n")
    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes")
    assert result.code == 2
    assert result.err_lines == ["portal-publish: error: PORTAL_URL is not set: export PORTAL_URL=https://portal.example.com"]
    monkeypatch.setenv("PORTAL_URL", "https://portal.example.com")
    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes")
    assert result.code == 2 and "PORTAL_TOKEN is not set" in result.err


def test_usage_errors_are_exit_2(tmp_path):
    missing = run_cli("page", "nowhere.md", "--space", "DOCS")
    assert missing.code == 2 and "the following arguments are required: --title" in missing.err
    write(tmp_path / "latin1.md", "caf\xe9".encode("latin-1"))
    result = run_cli("page", "latin1.md", "--space", "DOCS", "--title", "Café")
    assert result.code == 2 and "latin1.md: not UTF-8 text" in result.err


def test_the_console_script_imports_a_page_from_standard_input(portal, standin, tmp_path):
    process = subprocess.run(
        [str(SCRIPT), "page", "-", "--space", "DEMO", "--title", "Piped"],
        input=b"# Piped\n\nFrom a pipe.\n", capture_output=True, env=environment(), timeout=60, cwd=tmp_path,
    )
    assert process.returncode == 0, process.stderr.decode()
    assert process.stdout.decode().startswith("created ")
    assert page_titled(standin, "DEMO", "Piped") is not None
    assert "\x1b[" not in process.stdout.decode(), "no colour codes when stdout is not a terminal"


def test_paths_are_read_relative_to_the_working_directory(portal, tmp_path):
    write(tmp_path / "a" / "b.md", "# B\n")
    assert Path.cwd() == tmp_path
    assert run_cli("page", "a/b.md", "--space", "DOCS", "--title", "B").code == 0


def test_plain_http_to_another_host_is_warned_about(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_URL", "http://portal.invalid/api/v1/")
    monkeypatch.setenv("PORTAL_TOKEN", "mdi_x")
    notes = write(tmp_path / "notes.md", "# Notes\n")
    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes", "--retry-deadline", "0")
    assert result.err_lines[0] == (
        "warning: PORTAL_URL is plain http: the token crosses the network unencrypted to portal.invalid"
    )
    # The API prefix in PORTAL_URL is taken off rather than doubled.
    assert "could not reach the portal at http://portal.invalid:" in result.err_lines[-1]
    assert result.code == 1


def test_a_page_that_refers_to_local_files_is_told_they_stay_behind(portal, tmp_path):
    notes = write(
        tmp_path / "notes.md",
        "# Notes\n\n![diagram](img/flow.png) and [the guide](guide.md#setup), [site](https://example.com), [top](#top)\n",
    )
    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes")
    assert result.code == 0
    assert result.err_lines == [
        f"warning: {notes} refers to local files that a single page does not carry (guide.md, img/flow.png); "
        "publish its folder ('portal-publish FOLDER') to take them along"
    ]


def test_with_json_an_error_is_the_portals_error_shape_on_stdout(portal, tmp_path):
    notes = write(tmp_path / "notes.md", "# Notes\n")
    token_revoke(token=portal.issued.token, actor=None)
    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes", "--json")
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert (error["code"], error["message"]) == ("token_revoked", "The token has been revoked.")
    assert error["requestId"]
    assert len(result.err_lines) == 1

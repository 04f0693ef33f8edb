"""`portal-publish page FILE`: one Markdown file through POST /api/v1/imports of the real portal."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from imports.models import ImportRecord
from tests.client.conftest import PNG, SCRIPT, environment, run_cli, write
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


# A page with an image (its name has an accent and a space), a PDF, a link to another page, a web link, and
# image syntax inside code, which is an example and no reference.
NOTES = """# Notes

![flow](img/flow%20café.png) and the [manual](files/manual.pdf#page=2), the [guide](guide.md#setup),
[site](https://example.com), [top](#top).

```markdown
![example](img/example.png)
```
"""
PDF = b"%PDF-1.4\n% a manual\n"


def page_files_tree(tmp_path: Path) -> Path:
    write(tmp_path / "docs" / "img" / "flow café.png", PNG)
    write(tmp_path / "docs" / "files" / "manual.pdf", PDF)
    write(tmp_path / "docs" / "img" / "unused.png", PNG + b"unused")
    return write(tmp_path / "docs" / "notes.md", NOTES)


def attachments_of(page) -> dict[str, bytes]:
    return {a.title: a.data for a in page.attachments.values() if a.status == "current"}


def test_a_page_takes_the_files_it_refers_to_along(portal, standin, tmp_path):
    notes = page_files_tree(tmp_path)

    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes")

    assert result.code == 0, result.err
    page = page_titled(standin, "DOCS", "Notes")
    assert attachments_of(page) == {"flow café.png": PNG, "manual.pdf": PDF}
    assert '<ri:attachment ri:filename="flow café.png"' in page.body
    assert '<ri:attachment ri:filename="manual.pdf"' in page.body
    assert result.out == (
        f'created    "Notes"  {standin.url}/wiki/spaces/DOCS/pages/{page.id}/Notes  '
        f"(page {page.id}, version 1, space DOCS; attachments: 2 uploaded, 0 unchanged, 0 removed)\n"
    )
    assert result.err_lines == [
        f"warning: {notes} links to other Markdown files or folders (guide.md); a single page leaves those links as "
        "they are: publish the folder ('portal-publish FOLDER') to make them page links",
        "attachments: 2 files, 0.1 KiB (files/manual.pdf, img/flow café.png)",
    ]
    record = ImportRecord.objects.get()
    assert record.attachments == {"uploaded": 2, "unchanged": 0, "removed": 0}


def test_the_github_summary_shows_the_attachment_counts(portal, standin, tmp_path, monkeypatch):
    page_files_tree(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))

    result = run_cli("page", "docs/notes.md", "--space", "DOCS", "--title", "Notes", "--github")

    assert result.code == 0, result.err
    url = ImportRecord.objects.get().page_url
    assert summary.read_text().splitlines()[2:5] == [
        "| | Page | File | Status | Attachments | Link |",
        "|---|---|---|---|---|---|",
        f"| 🆕 | Notes | `docs/notes.md` | created | 2 uploaded, 0 unchanged, 0 removed | [open]({url}) |",
    ]


def test_a_rerun_uploads_nothing_and_a_changed_file_only_that_file(portal, standin, tmp_path, monkeypatch):
    notes = page_files_tree(tmp_path)
    monkeypatch.setenv("GITHUB_RUN_ID", "1")
    assert run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes").code == 0
    standin.state.reset_writes()

    # The next CI run: a new Idempotency-Key, so the portal imports again rather than replaying the first answer.
    monkeypatch.setenv("GITHUB_RUN_ID", "2")
    again = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes", "--overwrite", "--json")

    assert again.code == 0, again.err
    body = json.loads(again.out)
    assert body["status"] == "unchanged"
    assert body["attachments"] == {"uploaded": 0, "unchanged": 2, "removed": 0}
    assert standin.state.writes() == {"page_versions": 0, "attachment_versions": 0, "attachments_deleted": 0}

    # Within the same run, a changed image is another request (the files are part of the key), not a replay.
    write(tmp_path / "docs" / "img" / "flow café.png", PNG + b"redrawn")
    changed = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes", "--overwrite")
    assert changed.code == 0, changed.err
    assert changed.out.startswith("unchanged ")
    assert changed.out.rstrip().endswith("; attachments: 1 uploaded, 1 unchanged, 0 removed)")
    assert attachments_of(page_titled(standin, "DOCS", "Notes"))["flow café.png"] == PNG + b"redrawn"

    # A reference taken out: the portal removes the file it had uploaded for it.
    write(notes, NOTES.replace("the [manual](files/manual.pdf#page=2), ", ""))
    dropped = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes", "--overwrite")
    assert dropped.code == 0, dropped.err
    assert dropped.out.startswith("updated ")
    assert dropped.out.rstrip().endswith("; attachments: 0 uploaded, 1 unchanged, 1 removed)")
    assert set(attachments_of(page_titled(standin, "DOCS", "Notes"))) == {"flow café.png"}


def test_every_kind_of_reference_is_sent_and_the_portal_takes_each_file(portal, standin, tmp_path):
    # The portal refuses a file its converter does not see referenced: the client must find exactly those.
    for name in ("inline.png", "reference.png", "html.png", "list.png", "angle bracket.png"):
        write(tmp_path / "docs" / "img" / name, PNG + name.encode())
    notes = write(tmp_path / "docs" / "notes.md", (
        "# Notes\n\n![inline](./img/inline.png) ![reference][r] <img src=\"img/html.png\" width=\"40\">\n\n"
        "1. A step\n\n    ![in a list](img/list.png)\n\n![spaced](<img/angle bracket.png>)\n\n"
        "    ![indented code](img/indented.png)\n\n`![span](img/span.png)`\n\n[r]: img/reference.png\n"
    ))

    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes", "--json")

    assert result.code == 0, result.err
    assert json.loads(result.out)["attachments"] == {"uploaded": 5, "unchanged": 0, "removed": 0}
    assert set(attachments_of(page_titled(standin, "DOCS", "Notes"))) == {
        "inline.png", "reference.png", "html.png", "list.png", "angle bracket.png",
    }


def test_files_over_the_portals_limit_are_a_clear_exit_1(portal, standin, tmp_path, settings):
    settings.IMPORT_MAX_ATTACHMENT_BYTES = 100
    write(tmp_path / "docs" / "big.png", PNG + b"x" * 200)
    notes = write(tmp_path / "docs" / "notes.md", "# Notes\n\n![big](big.png)\n")

    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes")

    assert result.code == 1
    line = result.err_lines[-1]
    assert line.startswith("portal-publish: error: HTTP 413 content_too_large: ")
    assert "make them smaller, refer to fewer, or leave some out with .mdignore or --exclude" in line
    assert page_titled(standin, "DOCS", "Notes") is None


def test_a_missing_referenced_file_is_exit_2_and_nothing_is_sent(portal, standin, tmp_path):
    write(tmp_path / "docs" / "img" / "here.png", PNG)
    notes = write(tmp_path / "docs" / "notes.md", "# Notes\n\n![here](img/here.png) ![gone](img/gone.png)\n")

    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes")

    assert result.code == 2
    assert result.out == ""
    assert result.err_lines == [
        f"portal-publish: error: {notes} refers to a file that does not exist: img/gone.png (under {notes.parent}); "
        "add it, fix the reference, or leave it out with .mdignore or --exclude"
    ]
    assert not ImportRecord.objects.exists() and page_titled(standin, "DOCS", "Notes") is None
    as_json = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes", "--json")
    assert as_json.code == 2 and json.loads(as_json.out)["error"]["code"] == "usage"


def test_mdignore_exclude_and_files_outside_the_folder_stay_behind_with_a_warning(portal, standin, tmp_path):
    write(tmp_path / "outside.png", PNG + b"outside")
    write(tmp_path / "docs" / ".mdignore", "drafts/\n")
    write(tmp_path / "docs" / "drafts" / "sketch.png", PNG + b"sketch")
    write(tmp_path / "docs" / "img" / "private.png", PNG + b"private")
    write(tmp_path / "docs" / "img" / "ok.png", PNG)
    notes = write(
        tmp_path / "docs" / "notes.md",
        "# Notes\n\n![a](../outside.png) ![b](drafts/sketch.png) ![c](img/private.png) ![d](./img/ok.png) "
        "[top](notes.md#notes)\n",
    )

    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes", "--exclude", "private.png")

    assert result.code == 0, result.err
    assert result.err_lines == [
        f"warning: ../outside.png: outside {notes.parent}, not sent (a page takes files from its folder and below)",
        "warning: drafts/sketch.png: left out by .mdignore or --exclude, not sent",
        "warning: img/private.png: left out by .mdignore or --exclude, not sent",
        "attachments: 1 file, 0.1 KiB (img/ok.png)",
    ]
    assert set(attachments_of(page_titled(standin, "DOCS", "Notes"))) == {"ok.png"}


def test_a_symbolic_link_out_of_the_folder_is_refused(portal, standin, tmp_path):
    secret = write(tmp_path / "secret.txt", "a key")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "key.txt").symlink_to(secret)
    notes = write(tmp_path / "docs" / "notes.md", "# Notes\n\n[key](key.txt)\n")

    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes")

    assert result.code == 2
    assert "a symbolic link to" in result.err and "outside" in result.err
    assert not ImportRecord.objects.exists()


def test_a_page_from_standard_input_says_its_local_files_stay_behind(portal, standin, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"# Piped\n\n![flow](img/flow.png)\n")))
    result = run_cli("page", "-", "--space", "DOCS", "--title", "Piped")
    assert result.code == 0, result.err
    assert result.err_lines == [
        "warning: the Markdown refers to local files (img/flow.png); a page read from standard input carries none: "
        "give the file's path instead of -"
    ]
    assert result.out.startswith("created ") and "attachments" not in result.out


def test_with_json_an_error_is_the_portals_error_shape_on_stdout(portal, tmp_path):
    notes = write(tmp_path / "notes.md", "# Notes\n")
    token_revoke(token=portal.issued.token, actor=None)
    result = run_cli("page", str(notes), "--space", "DOCS", "--title", "Notes", "--json")
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert (error["code"], error["message"]) == ("token_revoked", "The token has been revoked.")
    assert error["requestId"]
    assert len(result.err_lines) == 1

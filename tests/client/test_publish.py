"""`portal-publish PATH...`: a folder becomes one bundle, published through the publications API, waited for,
and reported page by page (status and URL), with exit codes, JSON, GitHub annotations and a job summary.

Against the small server of `fake_publications.py`, which speaks the shared contract and records exactly what
the client sent (fields, bundle members, Idempotency-Key), and can be told to replay, fail or hang;
`test_publish_portal.py` runs the same paths against the real portal and worker.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from tests.client.conftest import docs_tree, run_cli, write

BUNDLED = {"index.md", "guide/setup.md", "guide/usage.md", "guide/img/flow.png", "images/logo.png"}


def test_a_folder_with_images_and_links_publishes(fake, tmp_path):
    docs_tree(tmp_path)

    result = run_cli("docs", "--space", "DOCS", "--exclude", "*.tmp", "--source-ref", "acme/handbook@c1")

    assert result.code == 0, result.err
    [post] = fake.posts()
    # The bundle holds the pages and the images they reference; .git, .mdignore'd and --exclude'd files stay home.
    assert set(post.files) == BUNDLED
    assert post.fields == {"spaceId": "DOCS", "overwrite": "false", "dryRun": "false", "sourceRef": "acme/handbook@c1"}
    lines = result.out.splitlines()
    assert lines[0].split()[:2] == ["created", "guide/setup.md"]
    assert '"Setup"' in lines[0] and "https://acme.example/wiki/spaces/DOCS/pages/" in lines[0]
    assert "(attachments: 1 uploaded)" in lines[0]
    assert [line.split()[:2] for line in lines[1:3]] == [["created", "guide/usage.md"], ["created", "index.md"]]
    assert lines[-1] == "succeeded: 3 pages (3 created)"
    publication_id = next(iter(fake.publications))
    assert result.err_lines[0].startswith("bundle: 5 files (3 Markdown) from ")
    assert result.err_lines[1] == f"publication {publication_id} queued: {fake.url}/api/v1/publications/{publication_id}"
    # Plain progress lines in a log (stderr is not a terminal here): the states as they change.
    assert f"publication {publication_id}: queued, 0/3 pages" in result.err_lines
    assert f"publication {publication_id}: running, 1/3 pages" in result.err_lines


def test_a_second_run_of_the_same_tree_is_all_unchanged(fake, tmp_path):
    docs_tree(tmp_path)
    assert run_cli("docs", "--space", "DOCS", "--source-ref", "acme/handbook@c1").code == 0

    again = run_cli("docs", "--space", "DOCS", "--source-ref", "acme/handbook@c2")

    assert again.code == 0, again.err
    assert [line.split()[0] for line in again.out.splitlines()[:3]] == ["unchanged"] * 3
    assert again.out.splitlines()[-1] == "succeeded: 3 pages (3 unchanged)"
    assert len(fake.publications) == 2


def test_the_same_bundle_and_options_get_the_same_key_and_a_rerun_of_the_job_a_new_one(fake, tmp_path, monkeypatch):
    docs_tree(tmp_path)
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "1")
    assert run_cli("docs", "--space", "DOCS").code == 0
    [publication] = fake.publications.values()
    # As if the first run were an hour ago: the portal answers the same key with that publication.
    publication.body["createdAt"] = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()

    same = run_cli("docs", "--space", "DOCS")

    first, second = fake.posts()
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert len(fake.publications) == 1
    assert same.code == 0
    assert any(
        line.startswith(f"note: the same bundle and options were published by publication {publication.id} at ")
        for line in same.err_lines
    )

    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "2")
    rerun = run_cli("docs", "--space", "DOCS")
    assert fake.posts()[2].headers["Idempotency-Key"] != first.headers["Idempotency-Key"]
    assert len(fake.publications) == 2 and "note:" not in rerun.err
    assert rerun.out.splitlines()[-1] == "succeeded: 3 pages (3 unchanged)"


def test_a_dry_run_prints_the_preview_with_diffs(fake, tmp_path, monkeypatch):
    docs = docs_tree(tmp_path)
    assert run_cli("docs", "--space", "DOCS").code == 0
    write(docs / "guide" / "setup.md", "# Setup\n\n## Install\n\nSee [the handbook](../index.md).\n")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    result = run_cli("docs", "--space", "DOCS", "--dry-run", "--github")

    assert result.code == 0, result.err
    assert fake.posts()[-1].fields["dryRun"] == "true"
    out = result.out.splitlines()
    assert out[0].split()[:3] == ["would", "update", "guide/setup.md"]
    assert "-See [home](../index.md)." in out and "+See [the handbook](../index.md)." in out
    assert "--- a/guide/setup.md" in out
    assert [line.split()[:2] for line in out if line.startswith("unchanged")] == [
        ["unchanged", "guide/usage.md"], ["unchanged", "index.md"],
    ]
    assert out[-1] == "dry run: succeeded: 3 pages (2 unchanged, 1 would update)"
    text = summary.read_text()
    assert text.startswith("### Preview to Confluence space DOCS: succeeded")
    assert "| ✏️ | Setup | `guide/setup.md` | update |" in text
    assert "```diff\n--- a/guide/setup.md" in text and "+See [the handbook](../index.md)." in text


def test_a_failing_page_exits_1_with_an_annotation_and_a_summary_table(fake, tmp_path, monkeypatch):
    docs = docs_tree(tmp_path)
    write(docs / "guide" / "clash.md", "# Clash\n\nFAIL-ME\n")
    write(docs / "index.md", "# Handbook\n\nSee [the outside](../outside.md).\n")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))

    result = run_cli("docs", "--space", "DOCS", "--github")

    assert result.code == 1
    out = result.out.splitlines()
    assert out[0].startswith('failed      guide/clash.md  "Clash"  title_exists: a page titled "Clash" exists')
    assert "broken      index.md: link to ../outside.md leaves the bundle" in out
    annotations = [line for line in out if line.startswith("::")]
    assert annotations == [
        '::error file=docs/guide/clash.md,title=portal-publish%3A title_exists::Clash: a page titled "Clash" exists, '
        "not from this tree",
        "::warning file=docs/index.md,title=portal-publish%3A broken link::link to ../outside.md does not lead to a "
        "file of the bundle",
    ]
    assert re.search(r"^partial: 4 pages \(3 created, 1 failed\); 1 broken links$", result.out, re.M)
    text = summary.read_text()
    assert "| ❌ | Clash | `guide/clash.md` | failed: title_exists: a page titled \"Clash\" exists" in text
    assert "| 🆕 | Setup | `guide/setup.md` | created | [open](https://acme.example/wiki/spaces/DOCS/pages/" in text
    assert "- `index.md` → `../outside.md`" in text


def test_orphans_are_reported_not_deleted(fake, tmp_path):
    docs = docs_tree(tmp_path)
    assert run_cli("docs", "--space", "DOCS", "--source-ref", "acme/handbook@c1").code == 0
    (docs / "guide" / "usage.md").unlink()

    result = run_cli("docs", "--space", "DOCS", "--source-ref", "acme/handbook@c2")

    assert result.code == 0
    assert any(line.startswith("orphan      guide/usage.md ") for line in result.out.splitlines())
    assert result.out.splitlines()[-1] == "succeeded: 2 pages (2 unchanged); 1 orphaned"


def test_json_prints_the_publication_and_annotations_go_to_stderr(fake, tmp_path):
    docs = docs_tree(tmp_path)
    write(docs / "guide" / "clash.md", "# Clash\n\nFAIL-ME\n")

    result = run_cli("docs", "--space", "DOCS", "--json", "--github")

    assert result.code == 1
    publication = json.loads(result.out)
    assert publication["state"] == "partial"
    assert {p["path"]: p["status"] for p in publication["pages"]}["guide/clash.md"] == "failed"
    assert any(line.startswith("::error file=docs/guide/clash.md,") for line in result.err_lines)


def test_status_shows_a_publication_and_an_unknown_one_is_exit_2(fake, tmp_path):
    docs_tree(tmp_path)
    queued = run_cli("docs", "--space", "DOCS", "--no-wait")
    assert queued.code == 0
    publication_id, url = queued.out.split()
    assert url == f"{fake.url}/api/v1/publications/{publication_id}"

    status = run_cli("status", publication_id, "--wait")
    assert status.code == 0, status.err
    assert status.out.splitlines()[-1] == "succeeded: 3 pages (3 created)"

    unknown = run_cli("status", "0c3f0e7e-0000-0000-0000-000000000000")
    assert unknown.code == 2
    assert unknown.err_lines[-1].startswith("portal-publish: error: HTTP 404 publication_not_found: ")


def test_overwrite_and_the_other_options_reach_the_portal(fake, tmp_path):
    docs_tree(tmp_path)
    assert run_cli("docs", "--overwrite", "--space", "DOCS", "--parent", "123", "--version-message", "CI").code == 0
    assert run_cli("docs", "--space", "DOCS", "--overwrite=force").code == 0
    first, second = fake.posts()
    assert first.fields == {
        "spaceId": "DOCS", "overwrite": "true", "dryRun": "false", "parentId": "123", "versionMessage": "CI",
    }
    assert second.fields["overwrite"] == "force"
    bad = run_cli("docs", "--space", "DOCS", "--overwrite=always")
    assert bad.code == 2 and "invalid choice: 'always'" in bad.err


def test_a_wrong_token_is_exit_2_before_any_wait(fake, tmp_path, monkeypatch):
    docs_tree(tmp_path)
    monkeypatch.setenv("PORTAL_TOKEN", "mdi_not_this_one")
    result = run_cli("docs", "--space", "DOCS")
    assert result.code == 2
    assert result.err_lines[-1].startswith("portal-publish: error: HTTP 401 token_invalid: The token is not known.")


def test_a_publication_that_fails_as_a_whole_is_exit_1_with_its_error(fake, tmp_path):
    docs_tree(tmp_path)
    fake.run_error = {"code": "internal_error", "message": "the run stopped on an unexpected error; see the log"}

    result = run_cli("docs", "--space", "DOCS", "--github")

    assert result.code == 1
    assert result.out.splitlines() == [
        "failed: 0 pages",
        "error: internal_error: the run stopped on an unexpected error; see the log",
        "hint: internal_error: the portal failed unexpectedly; quote the request or publication id to a portal admin",
        "::error title=portal-publish::internal_error: the run stopped on an unexpected error; see the log",
    ]


def test_a_publication_still_running_after_the_wait_timeout_is_exit_1_and_can_be_followed(fake, tmp_path):
    docs_tree(tmp_path)
    fake.hang = True

    result = run_cli("docs", "--space", "DOCS", "--wait-timeout", "1")

    [publication_id] = fake.publications
    assert result.code == 1
    assert result.err_lines[-1] == (
        f"portal-publish: error: wait_timeout: publication {publication_id} is still running after 1 s; "
        f"'portal-publish status {publication_id} --wait' follows it"
    )
    status = run_cli("status", publication_id)
    assert status.code == 1
    assert f"publication {publication_id}: running, 0/3 pages" in status.err_lines


def test_a_dry_runs_summary_keeps_within_githubs_size_limit(fake, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    for name in ("a", "b", "c"):
        write(docs / f"{name}.md", f"# {name.upper()}\n\n" + "".join(f"line {i} of {name}\n" for i in range(25_000)))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    result = run_cli("docs", "--space", "DOCS", "--dry-run", "--github")

    assert result.code == 0
    text = summary.read_text()
    assert len(text.encode()) < 1_000_000
    assert "+line 24999 of a" in text and "+line 24999 of b" in text and "+line 0 of c" not in text
    assert text.rstrip().endswith("_Diffs of the other pages are left out: the summary has a size limit._")
    assert "+line 24999 of c" in result.out, "the log has every diff"

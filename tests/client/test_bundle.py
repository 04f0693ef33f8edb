"""Bundling: which files go in, under which names, and the same bytes for the same files."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from portal_publish.bundle import build, local_references
from portal_publish.errors import UsageError

from tests.client.conftest import PNG, docs_tree, run_cli, write


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def test_a_folder_is_the_bundles_root_without_git_and_ignored_files(tmp_path):
    docs = docs_tree(tmp_path)
    bundle = build([docs], ["*.tmp"])
    assert list(members(bundle.data)) == [
        "guide/img/flow.png", "guide/setup.md", "guide/usage.md", "images/logo.png", "index.md",
    ]
    with tarfile.open(fileobj=io.BytesIO(bundle.data), mode="r:gz") as tar:
        assert tar.extractfile("images/logo.png").read() == PNG


def test_the_same_files_make_the_same_bytes_whatever_their_times_and_modes(tmp_path):
    docs = docs_tree(tmp_path)
    first = build([docs])
    for path in docs.rglob("*"):
        if path.is_file():
            os.utime(path, (1_700_000_000, 1_700_000_000))
            path.chmod(0o600)
    second = build([docs])
    assert first.data == second.data and first.sha256 == second.sha256
    info = members(second.data)["index.md"]
    assert (info.mtime, info.mode, info.uid, info.gid, info.uname) == (946684800, 0o644, 0, 0, "")
    # The gzip header: no flags (so no file name) and a zero time.
    assert second.data[:2] == b"\x1f\x8b" and second.data[3] == 0 and second.data[4:8] == bytes(4)
    write(docs / "index.md", "# Handbook, changed\n")
    assert build([docs]).sha256 != first.sha256


def test_mdignore_follows_gitignore_rules_in_every_folder(tmp_path):
    docs = tmp_path / "docs"
    write(docs / ".mdignore", "*.draft.md\n/internal/\n!keep.draft.md\n")
    write(docs / "index.md", "# Home\n")
    write(docs / "a.draft.md", "# Draft\n")
    write(docs / "keep.draft.md", "# Kept\n")
    write(docs / "internal" / "secret.md", "# Internal\n")
    write(docs / "guide" / "internal" / "ok.md", "# Not the root's internal/\n")
    write(docs / "guide" / ".mdignore", "old-*\n")
    write(docs / "guide" / "old-setup.md", "# Old\n")
    write(docs / "guide" / "b.draft.md", "# Nested draft\n")
    write(docs / "old-root.md", "# A root file the guide's .mdignore does not reach\n")
    assert sorted(f.arcname for f in build([docs]).files) == [
        "guide/internal/ok.md", "index.md", "keep.draft.md", "old-root.md",
    ]


def test_several_paths_keep_their_places_under_the_deepest_common_folder(tmp_path):
    write(tmp_path / "docs" / "guide.md", "# Guide\n\n![x](../assets/x.png)\n")
    write(tmp_path / "assets" / "x.png", PNG)
    write(tmp_path / "README.md", "# Readme\n")
    bundle = build([tmp_path / "docs", tmp_path / "assets", tmp_path / "README.md"])
    assert bundle.root == tmp_path
    assert [f.arcname for f in bundle.files] == ["README.md", "assets/x.png", "docs/guide.md"]
    single = build([tmp_path / "docs" / "guide.md"])
    assert [f.arcname for f in single.files] == ["guide.md"]


def test_names_that_differ_only_in_case_are_refused_naming_both(tmp_path):
    write(tmp_path / "docs" / "Setup.md", "# A\n")
    write(tmp_path / "docs" / "setup.md", "# B\n")
    if len(list((tmp_path / "docs").iterdir())) < 2:
        pytest.skip("this file system does not tell names apart by case")
    with pytest.raises(UsageError, match="Setup.md and setup.md differ only in case"):
        build([tmp_path / "docs"])


def test_a_link_out_of_the_tree_is_refused_and_a_linked_folder_left_out(tmp_path):
    write(tmp_path / "secret.txt", "key")
    docs = tmp_path / "docs"
    write(docs / "index.md", "# Home\n")
    (docs / "key.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(UsageError, match=r"key.txt: a symbolic link to .*secret.txt, outside"):
        build([docs])
    (docs / "key.txt").unlink()
    write(docs / "real" / "page.md", "# Page\n")
    (docs / "alias").symlink_to(docs / "real")
    (docs / "same.md").symlink_to(docs / "index.md")
    bundle = build([docs])
    assert [f.arcname for f in bundle.files] == ["index.md", "real/page.md", "same.md"]
    assert bundle.warnings == ["alias/: a symbolic link to a folder, left out"]


def test_no_markdown_or_a_missing_path_is_a_usage_error_before_anything_is_sent(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PORTAL_TOKEN", "mdi_x")
    write(tmp_path / "docs" / "logo.png", PNG)
    write(tmp_path / "docs" / "drafts" / "a.md", "# A\n")
    result = run_cli("docs", "--space", "DOCS", "--exclude", "drafts/")
    assert result.code == 2
    assert result.err_lines == [
        "portal-publish: error: no Markdown file (.md, .markdown) to publish in docs after .mdignore and --exclude"
    ]
    missing = run_cli("nowhere", "--space", "DOCS")
    assert missing.code == 2 and missing.err_lines == ["portal-publish: error: nowhere: no such file or folder"]
    assert Path("nowhere").exists() is False


def test_a_pages_references_are_what_the_portal_will_see_as_references():
    text = (
        "# T\n\n![a](img/a.png \"A title\") [pdf](files/manual.pdf#page=2) ![ref][r] <img src=\"img/html.png\" width=\"40\">\n"
        "![spaced](<img/with space.png>) ![encoded](img/a%20b.png) [again](img/a.png) [dot](./img/dot.png?raw=1)\n\n"
        "[r]: img/reference.png\n\n"
        "```markdown\n![fenced](img/fenced.png)\n```\n\n"
        "    ![indented](img/indented.png)\n\n"
        "1. A step\n\n    ![in a list](img/list.png)\n\n"
        "`![span](img/span.png)` <!-- ![comment](img/comment.png) -->\n\n"
        "[web](https://example.com/x.png) [mail](mailto:a@example.com) [anchor](#top) [root](/img/root.png) "
        "[page](guide.md) [up](../up.png)\n"
    )
    assert local_references(text) == [
        "img/a.png", "files/manual.pdf", "img/reference.png", "img/html.png", "img/with space.png", "img/a b.png",
        "./img/dot.png", "img/list.png", "guide.md", "../up.png",
    ]

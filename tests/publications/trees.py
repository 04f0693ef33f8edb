"""Documentation trees for publication tests: nested folders, images (two with one base name), a PDF, cross links."""

from __future__ import annotations

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def png(tag: str) -> bytes:
    return PNG + tag.encode()


def docs_tree() -> dict[str, bytes]:
    """30 files: 23 Markdown files in nested folders (one folder without an index page), 6 images, 1 PDF."""
    files: dict[str, bytes] = {
        "README.md": b"# Handbook\n\nStart with the [setup guide](guide/setup.md#install) or the [API](reference/api.md).\n",
        "guide/index.md": b"---\ntitle: Guide\n---\n\nThe guide. ![overview](img/overview.png)\n",
        "guide/setup.md": (
            b"# Setup\n\n## Install\n\nRun it. ![flow](img/flow.png)\n\nSee [auth](../reference/api.md#authentication)"
            b" and the [manual](files/manual.pdf).\n"
        ),
        "guide/img/flow.png": png("guide flow"),
        "guide/img/overview.png": png("guide overview"),
        "guide/files/manual.pdf": b"%PDF-1.4 manual",
        "guide/advanced/index.md": b"# Advanced\n\nBack to [setup](../setup.md).\n",
        "guide/advanced/tuning.md": b"# Tuning\n\n![flow](../img/flow.png)\n",
        "guide/advanced/scaling.md": b"# Scaling\n\nSee [tuning](tuning.md).\n",
        "reference/README.md": b"# Reference\n\nAll of it.\n",
        "reference/api.md": b"# API\n\n## Authentication\n\nTokens. ![flow](img/flow.png)\n",
        "reference/img/flow.png": png("reference flow"),  # the same base name as the guide's: must not collide
        "reference/cli.md": b"# CLI\n\n![term](img/term.png)\n",
        "reference/img/term.png": png("terminal"),
        "reference/errors.md": b"# Errors\n\nEvery code, see [API](api.md).\n",
        "tutorials/first.md": b"# First steps\n\n![s](shots/one.png)\n",
        "tutorials/second.md": b"# Second steps\n\n![s](shots/two.png) after [first](first.md).\n",
        "tutorials/shots/one.png": png("one"),
        "tutorials/shots/two.png": png("two"),
    }
    for n in range(1, 12):
        files[f"notes/note-{n:02d}.md"] = f"# Note {n}\n\nNote number {n}.\n".encode()
    files["notes/index.md"] = b"# Notes\n\nShort notes.\n"
    del files["notes/note-11.md"]
    assert len(files) == 30, len(files)
    return files

"""Documentation trees as a team keeps them in a repository, for the publication tests."""

from __future__ import annotations

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def handbook() -> dict[str, bytes]:
    """30 files under one top folder: nested folders with and without index pages, images (two share a base name),
    a PDF, an SVG, links between the files with and without anchors, and two links that lead nowhere."""
    files: dict[str, str | bytes] = {
        "handbook/README.md": "# Handbook\n\nStart with [getting started](getting-started.md) or the "
        "[guide](guide/).\n\n![logo](img/logo.png)\n",
        "handbook/getting-started.md": "---\nweight: 1\n---\n# Getting started\n\n"
        "Install first: [install](./guide/install.md#requirements). Questions: [FAQ](faq.md).\n",
        "handbook/faq.md": "---\ntitle: Frequently asked questions\nlabels: [faq, help]\n---\n# FAQ\n\n"
        "## Why?\n\nSee [the options](guide/configure.md#options) and the [team](team/).\n",
        "handbook/img/logo.png": PNG + b"root logo",
        "handbook/guide/index.md": "# Guide\n\n![logo](img/logo.png) ![root logo](../img/logo.png)\n\n"
        "1. [Install](install.md)\n2. [Configure](configure.md)\n3. [Upgrade](upgrade.md)\n",
        "handbook/guide/install.md": "---\nweight: 1\n---\n# Install\n\n## Requirements\n\nPython.\n\n"
        '![screen](img/screen.png)\n\nThen [configure](configure.md#options "Options").\n',
        "handbook/guide/configure.md": "---\nweight: 2\n---\nConfigure\n=========\n\n## Options\n\n"
        "See [GET items](../reference/api/endpoints.md#get-items) and the [CLI](../reference/cli.md).\n",
        "handbook/guide/upgrade.md": "---\nweight: 3\n---\n# Upgrade\n\nRead the "
        "[release notes](../release-notes/README.md) and [restore](../ops/runbooks/restore.md) if needed.\n",
        "handbook/guide/img/screen.png": PNG + b"screen",
        "handbook/guide/img/logo.png": PNG + b"guide logo",
        "handbook/reference/cli.md": "# Command line\n\n`handbook --help`; the [config file](config-file.md).\n",
        "handbook/reference/config-file.md": "# Configuration file\n\n```toml\n# not a heading\n```\n",
        "handbook/reference/api/README.md": "# API\n\n![flow](diagrams/flow.svg)\n\n[Endpoints](endpoints.md), "
        "[errors](errors.md), [auth](auth.md).\n",
        "handbook/reference/api/endpoints.md": "# Endpoints\n\n## GET items\n\nSee [errors](errors.md#codes).\n",
        "handbook/reference/api/errors.md": "# Errors\n\n## Codes\n\n`E1`.\n\n[Back](README.md)\n",
        "handbook/reference/api/auth.md": "# Authentication\n\nTokens, see [FAQ](../../faq.md#why).\n",
        "handbook/reference/api/diagrams/flow.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        "handbook/ops/monitoring.md": "# Monitoring\n\nDashboards.\n",
        "handbook/ops/runbooks/restart.md": "# Restart\n\nSee [monitoring](../monitoring.md).\n",
        "handbook/ops/runbooks/backup.md": "# Backup\n\n[The spec](files/backup%20spec.pdf).\n",
        "handbook/ops/runbooks/restore.md": "# Restore\n\nAfter [backup](backup.md); "
        "[install](../../guide/install.md).\n\n![screen](../../guide/img/screen.png)\n",
        "handbook/ops/runbooks/files/backup spec.pdf": b"%PDF-1.7 backup",
        "handbook/release-notes/README.md": "# Release notes\n",
        "handbook/release-notes/1.md": "# Version 1\n",
        "handbook/release-notes/2.md": "# Version 2\n",
        "handbook/release-notes/10.md": "# Version 10\n",
        "handbook/team/members.md": "# Members\n\n[Lost](../../../outside.md) and [gone](missing.md).\n",
        "handbook/team/on-call.md": "On call rota, no heading.\n",
        "handbook/team/photos/group.jpg": b"\xff\xd8\xff jpeg",
        "handbook/team/hiring.md": "# Hiring\n\n![team](photos/group.jpg)\n",
    }
    assert len(files) == 30
    return {path: value.encode() if isinstance(value, str) else value for path, value in files.items()}


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

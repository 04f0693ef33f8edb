"""GitHub Actions: annotations (workflow commands) on the files that failed, and a job summary table.

Annotations name the file as the repository sees it (relative to GITHUB_WORKSPACE, where steps run), so
GitHub pins them on the Markdown file in the pull request. The summary is Markdown appended to the file
named by GITHUB_STEP_SUMMARY; GitHub shows at most 1 MiB of it per step, so diffs are cut to fit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portal_publish.errors import ClientError
from portal_publish.output import Output, page_failed

# GitHub shows up to 1 MiB of summary per step; the table comes first, the diffs get what is left.
SUMMARY_LIMIT = 1_000_000
STATUS_ICONS = {
    "created": "🆕", "updated": "✏️", "unchanged": "✅", "failed": "❌", "drifted": "⚠️", "pending": "⏳",
    "create": "🆕", "update": "✏️", "drift": "⚠️",
}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, *, file: str | None = None, title: str | None = None) -> str:
    properties = []
    if file:
        properties.append(f"file={_escape_property(file)}")
    if title:
        properties.append(f"title={_escape_property(title)}")
    return f"::{kind}{' ' + ','.join(properties) if properties else ''}::{_escape_data(message)}"


def repo_path(source: Path | None) -> str | None:
    if source is None:
        return None
    workspace = os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
    relative = os.path.relpath(source, workspace)
    return Path(relative).as_posix()


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


class GitHub:
    def __init__(self, output: Output, source_of: Callable[[str], Path | None] = lambda path: None) -> None:
        self.output = output
        self.source_of = source_of

    def _emit(self, line: str) -> None:
        # With --json, stdout carries only the JSON; the runner reads workflow commands from stderr as well.
        stream = self.output.stderr if self.output.as_json else self.output.stdout
        stream.write(line + "\n")
        stream.flush()

    def _append_summary(self, markdown: str) -> None:
        path = os.environ.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(markdown)

    # ------------------------------------------------------------------------------------- publication

    def publication(self, publication: dict[str, Any]) -> None:
        for page in publication.get("pages") or []:
            file = repo_path(self.source_of(page.get("path", "")))
            title = page.get("title") or page.get("path", "")
            error = page.get("error") or {}
            if page_failed(page):
                code = error.get("code") or page.get("status") or page.get("action")
                message = error.get("message") or f'"{title}" was edited in Confluence since the portal wrote it'
                kind = "warning" if code == "drifted" else "error"
                self._emit(command(kind, f"{title}: {message}", file=file, title=f"portal-publish: {code}"))
            for warning in page.get("warnings") or []:
                self._emit(command("warning", warning, file=file, title="portal-publish"))
        for link in publication.get("brokenLinks") or []:
            file = repo_path(self.source_of(link.get("path", "")))
            self._emit(command(
                "warning", f"link to {link.get('href')} does not lead to a file of the bundle",
                file=file, title="portal-publish: broken link",
            ))
        for orphan in publication.get("orphans") or []:
            self._emit(command(
                "notice",
                f"\"{orphan.get('title')}\" ({orphan.get('url')}) was published from {orphan.get('path')}, which is no "
                "longer in the bundle; an admin can archive it",
                title="portal-publish: orphaned page",
            ))
        if publication.get("error"):
            error = publication["error"]
            self._emit(command("error", f"{error.get('code')}: {error.get('message')}", title="portal-publish"))
        self._append_summary(self.publication_summary(publication))

    def publication_summary(self, publication: dict[str, Any]) -> str:
        dry_run = bool(publication.get("dryRun"))
        lines = [
            f"### {'Preview' if dry_run else 'Publication'} to Confluence space "
            f"{publication.get('spaceKey') or publication.get('spaceId', '')}: {publication.get('state')}",
            "",
            Output.totals(publication),
            "",
            "| | Page | File | " + ("Would" if dry_run else "Status") + " | Link |",
            "|---|---|---|---|---|",
        ]
        for page in publication.get("pages") or []:
            word = (page.get("action") or page.get("status")) if dry_run else page.get("status")
            error = page.get("error")
            detail = f"{word}: {error.get('code')}: {error.get('message')}" if error else word
            link = f"[open]({page['url']})" if page.get("url") else ""
            lines.append(
                f"| {STATUS_ICONS.get(str(word), '')} | {_cell(page.get('title', ''))} | `{_cell(page.get('path', ''))}` "
                f"| {_cell(detail)} | {link} |"
            )
        if publication.get("orphans"):
            lines += ["", "**Orphaned pages** (published earlier from this source, no longer in the bundle; not deleted):", ""]
            lines += [f"- [{_cell(o.get('title'))}]({o.get('url')}) from `{o.get('path')}`" for o in publication["orphans"]]
        if publication.get("brokenLinks"):
            lines += ["", "**Links that leave the bundle:**", ""]
            lines += [f"- `{b.get('path')}` → `{b.get('href')}`" for b in publication["brokenLinks"]]
        if publication.get("error"):
            lines += ["", f"**Error:** `{publication['error'].get('code')}`: {publication['error'].get('message')}"]
        if dry_run:
            budget = SUMMARY_LIMIT - sum(len(line.encode()) + 1 for line in lines) - 1_000
            for page in publication.get("pages") or []:
                diff = page.get("diff")
                if not diff:
                    continue
                cost = len(diff.encode()) + 300  # with its <details> wrapper
                if cost > budget:
                    lines += ["", "_Diffs of the other pages are left out: the summary has a size limit._"]
                    break
                budget -= cost
                fence = "````" if "```" in diff else "```"
                lines += [
                    "", f"<details><summary>{_cell(page.get('title', ''))} (<code>{_cell(page.get('path'))}</code>)</summary>",
                    "", f"{fence}diff", diff.rstrip("\n"), fence, "", "</details>",
                ]
        return "\n".join(lines) + "\n\n"

    # --------------------------------------------------------------------------------------- one page

    def import_result(self, body: dict[str, Any], *, file: Path | None) -> None:
        counts = body.get("attachments") or {}
        files = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("uploaded", "unchanged", "removed"))
        self._append_summary(
            f"### Page imported to Confluence space {body.get('spaceKey', '')}\n\n"
            "| | Page | File | Status | Attachments | Link |\n|---|---|---|---|---|---|\n"
            f"| {STATUS_ICONS.get(str(body.get('status')), '')} | {_cell(body.get('pageTitle', ''))} "
            f"| `{_cell(repo_path(file) or '-')}` | {body.get('status')} | {files} | [open]({body.get('url')}) |\n\n"
        )

    def failure(self, error: ClientError, *, file: Path | None = None) -> None:
        self._emit(command("error", error.one_line(), file=repo_path(file), title=f"portal-publish: {error.code}"))
        self._append_summary(f"### portal-publish failed\n\n`{error.code}`: {_cell(error.one_line())}\n\n")

"""What the user reads: results on stdout (or JSON), progress and diagnostics on stderr.

On a terminal the wait shows a progress bar and statuses are coloured; anywhere else (a CI log) the same
information comes as plain lines, one per change, without escape codes.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from portal_publish.errors import HINTS, ClientError

TERMINAL_STATES = frozenset({"succeeded", "failed", "partial"})
STATUS_STYLES = {
    "created": "green", "updated": "cyan", "unchanged": "dim", "failed": "bold red", "drifted": "yellow",
    "pending": "dim", "create": "green", "update": "cyan", "drift": "yellow",
}
PAGE_OK = frozenset({"created", "updated", "unchanged"})
# Plain progress lines in a CI log: one per state change, and progress at most this often.
PLAIN_PROGRESS_EVERY = 10.0


def page_failed(page: dict[str, Any]) -> bool:
    """A page that stops the run from being a success: failed, drifted, or (dry run) would be either."""
    if page.get("error"):
        return True
    return page.get("status") in {"failed", "drifted"} or page.get("action") in {"failed", "drifted"}


class Output:
    def __init__(self, *, as_json: bool, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.as_json = as_json
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.out_console = Console(file=self.stdout, highlight=False, soft_wrap=True)
        self.err_console = Console(file=self.stderr, highlight=False, soft_wrap=True)

    # ------------------------------------------------------------------------------------------ basics

    def _line(self, console: Console, text: str, style: str | None = None) -> None:
        if console.is_terminal:
            console.print(Text(text, style=style or ""))
        else:
            console.file.write(text + "\n")
            console.file.flush()

    def out(self, text: str, style: str | None = None) -> None:
        self._line(self.out_console, text, style)

    def info(self, text: str, style: str | None = None) -> None:
        self._line(self.err_console, text, style)

    def error(self, error: ClientError) -> None:
        self._line(self.err_console, f"portal-publish: error: {error.one_line()}", "bold red")
        if self.as_json:
            self.json(error.as_json())

    def json(self, data: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        self.stdout.flush()

    # -------------------------------------------------------------------------------------------- wait

    def waiter(self, publication_id: str, label: str) -> Waiter:
        if self.err_console.is_terminal:
            return BarWaiter(self.err_console, label)
        return PlainWaiter(self, publication_id)

    # ----------------------------------------------------------------------------------------- results

    def import_result(self, body: dict[str, Any], *, with_attachments: bool = False) -> None:
        """``with_attachments``: files were sent, so their counts are told even when all are 0."""
        if self.as_json:
            self.json(body)
            return
        status = body.get("status", "?")
        counts = body.get("attachments") or {}
        files = ""
        if with_attachments or any(counts.values()):
            files = "; attachments: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("uploaded", "unchanged", "removed"))
        self.out(
            f"{status:<10} \"{body.get('pageTitle', '')}\"  {body.get('url', '')}  "
            f"(page {body.get('pageId', '?')}, version {body.get('version', '?')}, space {body.get('spaceKey', '?')}"
            f"{files})",
            STATUS_STYLES.get(status),
        )

    def publication_result(self, publication: dict[str, Any]) -> None:
        if self.as_json:
            self.json(publication)
            return
        dry_run = bool(publication.get("dryRun"))
        pages = publication.get("pages") or []
        width = max((len(p.get("path", "")) for p in pages), default=0)
        for page in pages:
            self._page(page, dry_run=dry_run, width=width)
        for orphan in publication.get("orphans") or []:
            self.out(
                f"{'orphan':<10}  {orphan.get('path', '')}  \"{orphan.get('title', '')}\"  {orphan.get('url', '')}  "
                "(published earlier from this source, no longer in the bundle; not deleted)", "yellow",
            )
        for link in publication.get("brokenLinks") or []:
            self.out(f"{'broken':<10}  {link.get('path', '')}: link to {link.get('href', '')} leaves the bundle", "yellow")
        self.out(self.totals(publication), "bold")
        if publication.get("error"):
            error = publication["error"]
            self.out(f"error: {error.get('code', '')}: {error.get('message', '')}", "bold red")
        # What to do about the pages that did not go through, once per kind, in the client's own options.
        codes = {
            (page.get("error") or {}).get("code") or ("drifted" if "drifted" in {page.get("status"), page.get("action")}
                                                      else None)
            for page in pages
        } | {(publication.get("error") or {}).get("code")}
        for code in sorted(c for c in codes if c in HINTS):
            self.out(f"hint: {code}: {HINTS[code]}")

    def _page(self, page: dict[str, Any], *, dry_run: bool, width: int) -> None:
        if dry_run:
            word = page.get("action") or page.get("status") or "?"
            word = f"would {word}" if word in {"create", "update"} else word
        else:
            word = page.get("status") or "?"
        parts = [f"{word:<{12 if dry_run else 10}}", f"{page.get('path', ''):<{width}}", f"\"{page.get('title', '')}\""]
        error = page.get("error")
        if error:
            parts.append(f"{error.get('code', '')}: {' '.join(str(error.get('message', '')).split())}")
        if page.get("url"):
            parts.append(page["url"])
        attachments = page.get("attachments") or {}
        moved = {k: v for k, v in attachments.items() if v}
        if moved:
            parts.append("(attachments: " + ", ".join(f"{v} {k}" for k, v in moved.items()) + ")")
        style_key = (page.get("action") if dry_run else None) or page.get("status")
        self.out("  ".join(parts), STATUS_STYLES.get(str(style_key)))
        for warning in page.get("warnings") or []:
            self.out(f"{'':<10} warning: {warning}", "yellow")
        if dry_run and page.get("diff"):
            self.diff(page["diff"])

    def diff(self, diff: str) -> None:
        for line in diff.rstrip("\n").split("\n"):
            style = None
            if line.startswith("+") and not line.startswith("+++"):
                style = "green"
            elif line.startswith("-") and not line.startswith("---"):
                style = "red"
            elif line.startswith("@@"):
                style = "cyan"
            self.out(line, style)

    @staticmethod
    def totals(publication: dict[str, Any]) -> str:
        pages = publication.get("pages") or []
        dry_run = bool(publication.get("dryRun"))
        counted = Counter(
            (f"would {p.get('action')}" if p.get("action") in {"create", "update"} else p.get("action") or p.get("status"))
            if dry_run else p.get("status")
            for p in pages
        )
        breakdown = ", ".join(f"{n} {word}" for word, n in sorted(counted.items(), key=lambda kv: str(kv[0])))
        noun = "page" if len(pages) == 1 else "pages"
        head = f"{'dry run: ' if dry_run else ''}{publication.get('state', '?')}: {len(pages)} {noun}"
        extra = []
        if publication.get("orphans"):
            extra.append(f"{len(publication['orphans'])} orphaned")
        if publication.get("brokenLinks"):
            extra.append(f"{len(publication['brokenLinks'])} broken links")
        return head + (f" ({breakdown})" if breakdown else "") + (f"; {', '.join(extra)}" if extra else "")


class Waiter(Protocol):
    def update(self, publication: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class BarWaiter:
    """A progress bar on the terminal: pages done out of total, the state, and the time spent."""

    def __init__(self, console: Console, label: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("pages"),
            TextColumn("[dim]{task.fields[state]}"), TimeElapsedColumn(),
            console=console, transient=True,
        )
        self.task = self.progress.add_task(label, total=None, state="queued")
        self.progress.start()

    def update(self, publication: dict[str, Any]) -> None:
        progress = publication.get("progress") or {}
        total = progress.get("total") or None
        self.progress.update(self.task, completed=progress.get("done") or 0, total=total, state=publication.get("state"))

    def close(self) -> None:
        self.progress.stop()


class PlainWaiter:
    def __init__(self, output: Output, publication_id: str) -> None:
        self.output = output
        self.publication_id = publication_id
        self.last: tuple[Any, ...] | None = None
        self.last_at = 0.0

    def update(self, publication: dict[str, Any]) -> None:
        progress = publication.get("progress") or {}
        state = publication.get("state")
        now = time.monotonic()
        current = (state, progress.get("done"), progress.get("total"))
        if current == self.last:
            return
        if self.last and state == self.last[0] and now - self.last_at < PLAIN_PROGRESS_EVERY:
            return
        self.last, self.last_at = current, now
        counts = f", {progress.get('done', 0)}/{progress['total']} pages" if progress.get("total") else ""
        self.output.info(f"publication {self.publication_id}: {state}{counts}")

    def close(self) -> None:
        pass

"""`portal-publish`: the command line.

    portal-publish PATH... --space KEY [--parent ID] [--dry-run] [--overwrite[=force]] [--source-ref REF] ...
    portal-publish page FILE --space KEY --title TITLE [...]
    portal-publish status PUBLICATION_ID [--wait]

The portal's address and the token come from PORTAL_URL and PORTAL_TOKEN only: options end up in CI logs and
shell histories, the environment is where CI systems keep secrets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

from portal_publish import __version__
from portal_publish.api import PortalApi, Transport
from portal_publish.bundle import Bundle, build, local_references, page_files
from portal_publish.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PAGES_FAILED,
    ClientError,
    UsageError,
)
from portal_publish.github import GitHub
from portal_publish.output import TERMINAL_STATES, Output, page_failed

PROG = "portal-publish"
POLL_FIRST, POLL_MAX = 0.5, 3.0
# CI variables naming one attempt of one job: a re-run gets a new key (and so a new publication), while retries
# within the attempt reuse it. GitHub keeps the run id across re-runs and counts attempts; GitLab gives a retried
# job a new id.
RUN_SCOPE_VARIABLES = ("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "CI_JOB_ID")
# A publication created this long before our request was sent is an earlier run's, answered again for its key.
REPLAY_SLACK = dt.timedelta(seconds=5)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError("seconds cannot be negative")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout, for scripts")
    parser.add_argument(
        "--github", action="store_true",
        help="also write GitHub Actions annotations and a job summary table ($GITHUB_STEP_SUMMARY)",
    )
    parser.add_argument(
        "--retry-deadline", type=_seconds, default=120.0, metavar="SECONDS",
        help="how long one request may keep retrying network errors, 429 and 503 (default 120)",
    )


def _publish_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Publish Markdown files and folders (with the images and files they reference) to Confluence "
        "through the portal. PORTAL_URL and PORTAL_TOKEN come from the environment.",
        epilog=f"Other commands: '{PROG} page FILE ...' imports one page, '{PROG} status ID' shows a publication. "
        "Exit codes: 0 all published or unchanged, 1 some pages failed (or the portal could not be reached in time), "
        "2 usage, configuration or authentication errors, 130 interrupted (the publication goes on in the portal).",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="Markdown files or folders; a folder is one tree")
    parser.add_argument("--space", required=True, metavar="KEY", help="space key (DOCS) or numeric space id")
    parser.add_argument("--parent", metavar="ID", help="page id under which the tree goes (default: the space home)")
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change, with diffs, and write nothing"
    )
    parser.add_argument(
        "--overwrite", choices=["false", "true", "force"], default="false",
        help="--overwrite: adopt and update pages with the same title; --overwrite=force: also replace pages edited "
        "in Confluence since the portal wrote them",
    )
    parser.add_argument("--source-ref", metavar="REF", help="provenance, e.g. repo@commit; orphans are found by it")
    parser.add_argument("--version-message", metavar="TEXT", help="version comment of every page written")
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB",
        help="leave out files matching GLOB (.gitignore syntax; repeatable), like lines of a .mdignore file",
    )
    parser.add_argument(
        "--wait-timeout", type=_seconds, default=1800.0, metavar="SECONDS",
        help="longest wait for the publication to finish (default 1800)",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="print the publication's id and URL once queued, and exit 0"
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _common(parser)
    return parser


def _page_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=f"{PROG} page",
        description="Import one Markdown file as one Confluence page (POST /api/v1/imports), with the images and "
        "files it refers to in its folder and below (.mdignore and --exclude leave files out).",
    )
    parser.add_argument("file", metavar="FILE", help="a Markdown file, or - for standard input")
    parser.add_argument("--space", required=True, metavar="KEY", help="space key (DOCS) or numeric space id")
    parser.add_argument("--title", required=True, metavar="TITLE", help="the page's title, 1 to 255 characters")
    parser.add_argument("--parent", metavar="ID", help="id of the parent page (default: the space home)")
    parser.add_argument(
        "--overwrite", choices=["false", "true"], default="false",
        help="update the page when one with this title exists (else the import fails with title_exists)",
    )
    parser.add_argument(
        "--label", action="append", default=[], metavar="LABEL", dest="labels", help="a label for the page (repeatable)"
    )
    parser.add_argument("--source-ref", metavar="REF", help="provenance, e.g. repo@commit:path, kept on the page")
    parser.add_argument("--version-message", metavar="TEXT", help="the version comment Confluence shows")
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB",
        help="do not send referenced files matching GLOB (.gitignore syntax; repeatable), like lines of a .mdignore file",
    )
    _common(parser)
    return parser


def _status_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{PROG} status", description="Show a publication's state and pages.")
    parser.add_argument("publication_id", metavar="PUBLICATION_ID", help="as printed when it was queued")
    parser.add_argument("--wait", action="store_true", help="wait until it has finished")
    parser.add_argument(
        "--wait-timeout", type=_seconds, default=1800.0, metavar="SECONDS", help="longest wait (default 1800)"
    )
    _common(parser)
    return parser


def _normalise(argv: list[str]) -> list[str]:
    """`--overwrite` alone means true; with argparse's optional values it would swallow the PATH after it."""
    out = []
    for index, arg in enumerate(argv):
        if arg == "--":
            return out + argv[index:]
        out.append("--overwrite=true" if arg == "--overwrite" else arg)
    return out


# ------------------------------------------------------------------------------------------- settings


def _environment() -> tuple[str, str]:
    url = os.environ.get("PORTAL_URL", "").strip()
    token = os.environ.get("PORTAL_TOKEN", "").strip()
    if not url:
        raise UsageError("PORTAL_URL is not set: export PORTAL_URL=https://portal.example.com")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise UsageError(f"PORTAL_URL must be an http(s) URL like https://portal.example.com, not {url!r}")
    if not token:
        raise UsageError("PORTAL_TOKEN is not set: put the portal token in it (a CI secret), never in an option")
    # The base URL, also when given with the API's prefix.
    url = url.rstrip("/").removesuffix("/api/v1").rstrip("/")
    return url, token


def _plain_http_warning(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    if urlsplit(url).scheme == "http" and host not in {"localhost", "127.0.0.1", "::1"}:
        return f"warning: PORTAL_URL is plain http: the token crosses the network unencrypted to {host}"
    return None


def idempotency_key(kind: str, digest: str, fields: dict[str, Any]) -> str:
    """The same request (content and options) from the same CI job attempt gets the same key.

    Retries of the request, and a command run again within the attempt, get the earlier answer instead of
    doing the work twice. Without CI variables the key depends on the content and options alone.
    """
    scope = {name: os.environ[name] for name in RUN_SCOPE_VARIABLES if os.environ.get(name)}
    material = json.dumps({"kind": kind, "content": digest, "fields": fields, "scope": scope}, sort_keys=True)
    return f"{PROG}-{kind}-{hashlib.sha256(material.encode()).hexdigest()}"


# ---------------------------------------------------------------------------------------------- runs


class Interrupted(Exception):
    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number


class Run:
    def __init__(self, args: argparse.Namespace, output: Output) -> None:
        self.args = args
        self.output = output
        self.github: GitHub | None = None
        self.publication_id: str | None = None
        self.publication_url: str | None = None
        self.submitting = False
        self.accepted = False  # the portal queued our publication: from here on, it goes on without us
        self.base_url = ""

    def api(self) -> PortalApi:
        url, token = _environment()
        self.base_url = url
        warning = _plain_http_warning(url)
        if warning:
            self.output.info(warning, "yellow")
        return PortalApi(Transport(
            url, token, retry_deadline=self.args.retry_deadline, on_retry=lambda m: self.output.info(f"retry: {m}")
        ))

    def interrupted_message(self) -> str:
        if self.publication_id:
            return (
                f"interrupted: publication {self.publication_id} goes on in the portal; follow it with "
                f"'{PROG} status {self.publication_id} --wait' or GET {self.publication_url}"
            )
        if self.submitting:
            return (
                "interrupted while sending: the portal may have accepted the request; running the same command again "
                "in this job returns the same result instead of doing it twice"
            )
        return "interrupted: nothing was sent"

    # ----------------------------------------------------------------------------------------- publish

    def publish(self) -> int:
        args = self.args
        self.github = GitHub(self.output) if args.github else None
        api = self.api()
        bundle = build([Path(p) for p in args.paths], args.exclude)
        if self.github:
            self.github.source_of = bundle.source_of
        self._describe(bundle)
        fields = {"spaceId": args.space, "overwrite": args.overwrite, "dryRun": "true" if args.dry_run else "false"}
        for name, value in (("parentId", args.parent), ("sourceRef", args.source_ref),
                            ("versionMessage", args.version_message)):
            if value is not None:
                fields[name] = value
        key = idempotency_key("publication", bundle.sha256, fields)
        self.submitting = True
        sent = time.monotonic()
        answer = api.publication_create(bundle=bundle.data, filename="bundle.tar.gz", fields=fields, idempotency_key=key)
        took = time.monotonic() - sent
        self.submitting = False
        body = answer.body
        self.publication_id = str(body.get("publicationId", ""))
        self.publication_url = body.get("url") or f"{self.base_url}/api/v1/publications/{self.publication_id}"
        if not self.publication_id:
            raise ClientError("invalid_answer", f"the portal accepted the bundle but sent no publicationId: {body}")
        self.accepted = True
        self.output.info(f"publication {self.publication_id} {body.get('state', 'queued')}: {self.publication_url}")
        if args.no_wait:
            if args.json:
                self.output.json(body)
            else:
                self.output.out(f"{self.publication_id} {self.publication_url}")
            return EXIT_OK
        publication = self.wait(api, label=f"Publishing to {args.space}")
        self._note_replay(publication, answer.headers.get("Date"), took)
        return self.finish(publication)

    def _describe(self, bundle: Bundle) -> None:
        self.output.info(
            f"bundle: {len(bundle.files)} files ({bundle.markdown_count} Markdown) from {bundle.root}, "
            f"{_size(len(bundle.data))}, "
            f"sha256 {bundle.sha256[:12]}"
        )
        for warning in bundle.warnings:
            self.output.info(f"warning: {warning}", "yellow")

    def _note_replay(self, publication: dict[str, Any], date_header: str | None, took: float) -> None:
        """Say so when the portal answered with an earlier run's publication (same content, options and job)."""
        try:
            created = dt.datetime.fromisoformat(str(publication.get("createdAt")).replace("Z", "+00:00"))
            answered = email.utils.parsedate_to_datetime(date_header or "")
        except (TypeError, ValueError):
            return
        if created.tzinfo is None or answered.tzinfo is None:
            return
        # Both times are the portal's clock, so a skewed CI clock cannot fake a replay.
        if created < answered - dt.timedelta(seconds=took) - REPLAY_SLACK:
            self.output.info(
                f"note: the same bundle and options were published by publication {self.publication_id} at "
                f"{created:%Y-%m-%d %H:%M:%S %Z}; this is its result, nothing new was done. Change --source-ref "
                "(e.g. to the new commit) to publish again.", "yellow",
            )

    def wait(self, api: PortalApi, *, label: str) -> dict[str, Any]:
        assert self.publication_id
        started = time.monotonic()
        interval = POLL_FIRST
        waiter = self.output.waiter(self.publication_id, label)
        try:
            while True:
                publication = api.publication_get(self.publication_id)
                waiter.update(publication)
                if publication.get("state") in TERMINAL_STATES:
                    return publication
                if time.monotonic() - started + interval > self.args.wait_timeout:
                    raise ClientError(
                        "wait_timeout",
                        f"publication {self.publication_id} is still {publication.get('state')} after "
                        f"{self.args.wait_timeout:g} s; '{PROG} status {self.publication_id} --wait' follows it",
                    )
                time.sleep(interval)
                interval = min(POLL_MAX, interval * 1.5)
        finally:
            waiter.close()

    def finish(self, publication: dict[str, Any]) -> int:
        self.output.publication_result(publication)
        if self.github:
            self.github.publication(publication)
        pages = publication.get("pages") or []
        if publication.get("state") == "succeeded" and not any(page_failed(page) for page in pages):
            return EXIT_OK
        return EXIT_PAGES_FAILED

    # ------------------------------------------------------------------------------------------ status

    def status(self) -> int:
        api = self.api()
        self.publication_id = self.args.publication_id
        self.publication_url = f"{self.base_url}/api/v1/publications/{quote(self.publication_id, safe='')}"
        self.github = GitHub(self.output) if self.args.github else None
        if self.args.wait:
            publication = self.wait(api, label=f"Publication {self.publication_id}")
        else:
            publication = api.publication_get(self.publication_id)
            if publication.get("state") not in TERMINAL_STATES:
                progress = publication.get("progress") or {}
                self.output.info(
                    f"publication {self.publication_id}: {publication.get('state')}, "
                    f"{progress.get('done', 0)}/{progress.get('total', '?')} pages"
                )
        return self.finish(publication)

    # -------------------------------------------------------------------------------------------- page

    def page(self) -> int:
        args = self.args
        file = None if args.file == "-" else Path(args.file)
        self.github = GitHub(self.output) if args.github else None
        try:
            raw = sys.stdin.buffer.read() if file is None else file.read_bytes()
        except OSError as exc:
            raise UsageError(f"{args.file}: {exc.strerror or exc}") from exc
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UsageError(f"{args.file}: not UTF-8 text (byte {exc.start})") from exc
        references = local_references(content)
        attachments: list[tuple[str, bytes]] | None = None
        if file is None:
            # A JSON import, which leaves the page's attachments as they are: there is no folder to take files from.
            if references:
                self.output.info(
                    f"warning: the Markdown refers to local files ({', '.join(references)}); a page read from standard "
                    "input carries none: give the file's path instead of -", "yellow",
                )
        else:
            attachments = self._page_attachments(file, references)
        body: dict[str, Any] = {
            "spaceId": args.space, "pageTitle": args.title, "content": content, "overwrite": args.overwrite == "true",
        }
        if args.parent:
            body["parentId"] = args.parent
        if args.labels:
            body["labels"] = args.labels
        if args.source_ref:
            body["sourceRef"] = args.source_ref
        if args.version_message:
            body["versionMessage"] = args.version_message
        api = self.api()
        request: dict[str, Any] = body
        if attachments is not None:
            # The files join the key: a changed image is another request, not a replay of the first answer.
            request = {"body": body, "files": [[name, hashlib.sha256(data).hexdigest()] for name, data in attachments]}
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        self.submitting = True
        result = api.import_page(body, idempotency_key=idempotency_key("import", digest, {}), files=attachments)
        self.submitting = False
        self.output.import_result(result, with_attachments=bool(attachments))
        if self.github:
            self.github.import_result(result, file=file)
        return EXIT_OK

    def _page_attachments(self, file: Path, references: list[str]) -> list[tuple[str, bytes]]:
        """The files the page refers to, read, named as the Markdown names them; what stays behind is said on stderr."""
        found = page_files(file, references, self.args.exclude)
        if found.page_links:
            self.output.info(
                f"warning: {file} links to other Markdown files or folders ({', '.join(found.page_links)}); a single "
                f"page leaves those links as they are: publish the folder ('{PROG} FOLDER') to make them page links",
                "yellow",
            )
        for reason in found.skipped:
            self.output.info(f"warning: {reason}", "yellow")
        attachments = [(item.arcname, item.read()) for item in found.files]
        if attachments:
            size = _size(sum(len(data) for _, data in attachments))
            noun = "file" if len(attachments) == 1 else "files"
            self.output.info(f"attachments: {len(attachments)} {noun}, {size} ({', '.join(n for n, _ in attachments)})")
        return attachments


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


def _raise_interrupted(signal_number: int, frame: Any) -> None:
    raise Interrupted(signal_number)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command; returns the exit code (0 all published or unchanged, 1 pages failed, 2 usage or auth)."""
    argv = _normalise(list(sys.argv[1:] if argv is None else argv))
    as_json = "--json" in argv
    output = Output(as_json=as_json, stdout=stdout, stderr=stderr)
    command: Callable[[Run], int]
    if argv and argv[0] == "page":
        parser, command, argv = _page_parser(), Run.page, argv[1:]
    elif argv and argv[0] == "status":
        parser, command, argv = _status_parser(), Run.status, argv[1:]
    else:
        parser, command = _publish_parser(), Run.publish
    run: Run | None = None
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help and --version
            return int(exit_.code or 0)
        run = Run(args, output)
        return command(run)
    except ClientError as error:
        output.error(error)
        if run and run.accepted and error.code not in {"wait_timeout", "publication_not_found"}:
            # Lost while waiting (the network, the token revoked meanwhile): the work itself goes on.
            output.info(
                f"{PROG}: publication {run.publication_id} may still be running in the portal; "
                f"'{PROG} status {run.publication_id} --wait' follows it"
            )
        if run and run.github:
            file = Path(run.args.file) if getattr(run.args, "file", "-") != "-" else None
            run.github.failure(error, file=file)
        return error.exit_code
    except (KeyboardInterrupt, Interrupted) as exc:
        message = run.interrupted_message() if run else "interrupted"
        output.info(f"\n{PROG}: {message}", "yellow")
        if isinstance(exc, Interrupted):
            return 128 + exc.signal_number
        return EXIT_INTERRUPTED


def run() -> None:
    """The console script: SIGTERM (a cancelled CI job) is handled like Ctrl-C, so the user learns the id.

    SIGINT is set too: a shell without job control starts background commands with it ignored, and Python then
    leaves it ignored, so Ctrl-C would do nothing.
    """
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    sys.exit(main())


"""The directory sync: an instance's spaces, pages, users and page activity, fetched and upserted.

One service, ``sync_run``, serves ``manage.py sync_confluence`` and the admin. It streams: pages arrive 250 at a time
through v2's cursor, are compared with the stored rows of that batch only, and only rows that differ are written.
Users come from v1 search and are detailed through v2 users-bulk 250 at a time. Views and viewers (two v1 analytics
calls a page) are read by a small thread pool; every database write stays on the calling thread, so the workers
never hold a connection.

A problem in one part (a space the account may not read, user search refused, analytics refused, retries exhausted)
is written on the run as a sentence that says what to fix, and the rest continues. Only a refusal of the
credentials themselves, or the space list, ends the run early.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from confluence import client as confluence_client
from confluence.client import ConfluenceClient
from confluence.errors import AuthenticationFailed, ConfluenceError, NotFound, RateLimited, Unavailable
from directory.models import ConfluenceUser, Page, PageActivity, Space, SyncRun
from portal.sweeps import sweep_ensure, sweep_round
from tokens import confluence as instance_confluence
from tokens.models import Instance

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
T = TypeVar("T")
M = TypeVar("M", bound="models.Model")

BATCH = confluence_client.V2_PAGE_LIMIT  # one v2 page of results is one database batch
USERS_BULK_BATCH = confluence_client.USERS_BULK_BATCH
USER_SEARCH_LIMIT = 1000  # the most v1 search/user returns at once
MAX_ERRORS = 50  # beyond this a run keeps counting problems but stops listing them

PAGE_FIELDS = ["space", "title", "parent_id", "status", "version", "created_at", "last_updated_at", "author_id", "web_url", "gone_at"]
USER_FIELDS = ["display_name", "email", "account_status", "account_type", "time_zone"]
SPACE_FIELDS = ["key", "name", "type", "status", "homepage_id", "web_url"]


class SyncAborted(Exception):
    """A failure after which no other part of the sync can succeed (the credentials were refused)."""


class SyncLost(Exception):
    """The sweep has marked this run failed (it was silent too long): stop without writing over that outcome."""


# ---------------------------------------------------------------------- messages


def explain_credentials(error: ConfluenceError) -> str:
    return (
        f"Confluence refused the credentials ({error.status}): check the instance's service account email and "
        "API token (an Atlassian API token from id.atlassian.com, for that email)."
    )


def explain_users(error: ConfluenceError) -> str:
    if isinstance(error, AuthenticationFailed) and error.status == 403:
        return (
            "Users could not be listed (403): the service account needs the Confluence Administrator role or "
            "user-management permission (Atlassian Administration > Products > Confluence > Admins). "
            "Users were skipped; pages and views continued."
        )
    return f"Users could not be fully read: {_describe(error)}. Users were left as they were."


def explain_analytics(error: ConfluenceError) -> str:
    if isinstance(error, AuthenticationFailed) and error.status == 403:
        return (
            "Page views could not be read (403): analytics need the service account to be a Confluence "
            "Administrator. Views and viewers were skipped for the rest of this run."
        )
    return f"Page views could not be read: {_describe(error)}."


def explain_space(space_label: str, error: ConfluenceError) -> str:
    if isinstance(error, (AuthenticationFailed, NotFound)) and error.status in (403, 404):
        why = (
            f"Space {space_label} could not be read ({error.status}): give the service account the space "
            "permission \"View\" (Space settings > Permissions), or leave the space out. The space was skipped."
        )
        return why
    return f"Space {space_label} could not be fully read: {_describe(error)}. Its remaining pages were skipped."


def _describe(error: ConfluenceError) -> str:
    if isinstance(error, RateLimited):
        return "Confluence kept answering 429 (rate limited) after every retry; run the sync again later"
    if isinstance(error, Unavailable):
        return f"Confluence was unavailable ({error.message})"
    return f"Confluence answered {error.status}: {error.message}"


# ---------------------------------------------------------------------- the run


@dataclass
class _Meter:
    """Counts and a rate for progress lines; ``expected`` (from the last sync) makes an estimate possible."""

    what: str
    expected: int | None = None
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        text = f"{self.what}: {self.done:,} so far, {rate:,.0f}/s"
        if self.expected and rate > 0 and self.done < self.expected:
            remaining = (self.expected - self.done) / rate
            text += f", about {_seconds(remaining)} left of ~{self.expected:,} (as many as the last sync found)"
        return text


def _quiet(line: str) -> None:
    """Progress nobody asked for."""


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 90 else f"{value / 60:.1f} min"


def sync_run(
    *,
    instance: Instance,
    spaces: Iterable[str] | None = None,
    progress: Progress | None = None,
    client: ConfluenceClient | None = None,
    run: SyncRun | None = None,
) -> SyncRun:
    """Fetch the instance's spaces (all, or the keys given), their pages, the users and page activity.

    Returns the finished SyncRun; its status is ``failed`` when the credentials or the space list were refused,
    ``partial`` when some part was skipped (its ``errors`` say which and what to fix), else ``succeeded``.
    """
    keys = [key.strip() for key in spaces or [] if key.strip()]
    if run is None:
        run = SyncRun.objects.create(instance=instance, spaces_requested=keys, heartbeat_at=timezone.now())
        sync_sweep_ensure()  # a sync from the command line is watched too: its process may be killed as well
    else:  # queued by sync_enqueue(): it starts now
        run.status, run.started_at, run.heartbeat_at = SyncRun.Status.RUNNING, timezone.now(), timezone.now()
        run.save(update_fields=["status", "started_at", "heartbeat_at"])
    own_client = client is None
    confluence = client or instance_confluence.build_client(instance)
    sync = _Sync(run=run, instance=instance, client=confluence, progress=progress if progress is not None else _quiet)
    lost = False
    try:
        sync.run(keys or None)
    except SyncAborted:
        run.status = SyncRun.Status.FAILED
    except SyncLost:
        lost = True
    except Exception as exc:
        # A bug or a database failure: the run must not stay "running" forever, and the admin sees what happened.
        logger.exception("directory sync of %s failed", instance)
        sync.error(f"The sync stopped on an unexpected error: {type(exc).__name__}: {exc}", report=False)
        run.status = SyncRun.Status.FAILED
    except BaseException as exc:
        # Ctrl-C on sync_confluence, or a worker told twice to stop: the run ends now, not when the sweep notices.
        sync.error(f"The sync was interrupted ({type(exc).__name__}) and stopped where it was. Run the sync again.",
                   report=False)
        run.status = SyncRun.Status.FAILED
        raise
    else:
        run.status = SyncRun.Status.PARTIAL if run.errors else SyncRun.Status.SUCCEEDED
    finally:
        sync.close()
        lost = lost or not sync.finish()
        if own_client:
            confluence.close()
    if lost:
        logger.warning(
            "directory sync %s of %s was marked failed by the sweep while it still ran (silent for longer than "
            "DIRECTORY_SYNC_STALE_AFTER_SECONDS); it stopped, its rows written so far are kept", run.pk, instance,
        )
        run.refresh_from_db()
        return run
    sync.tell(summary(run))
    return run


def summary(run: SyncRun) -> str:
    duration = run.duration_seconds or 0.0
    lines = [
        f"Sync of {run.instance.name} {run.get_status_display()} in {duration:.1f} s: "
        f"{_count(run.spaces_seen, 'space')} ({run.spaces_skipped} skipped), {_count(run.pages_seen, 'page')} "
        f"({run.pages_created:,} new, {run.pages_updated:,} changed, {run.pages_gone:,} gone), "
        f"{_count(run.users_seen, 'user')} ({run.users_created:,} new, {run.users_updated:,} changed), "
        f"views of {_count(run.activity_fetched, 'page')} ({run.activity_written:,} new or changed); "
        f"{_count(run.rows_written, 'row')} written, {_count(run.requests_made, 'request')} to Confluence.",
    ]
    if run.errors:
        lines.append(f"{_count(len(run.errors), 'problem')}, listed below and kept on the sync run.")
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


# What a running sync reports with each heartbeat, so the admin follows it and a run that dies keeps its counts.
REPORTED_FIELDS = [
    "spaces_seen", "spaces_skipped", "pages_seen", "pages_created", "pages_updated", "pages_gone", "users_seen",
    "users_created", "users_updated", "activity_fetched", "activity_written", "rows_written", "requests_made",
    "errors", "progress", "heartbeat_at",
]
BEAT_SECONDS = 1.0  # the most often a run writes its heartbeat


class _Sync:
    def __init__(self, *, run: SyncRun, instance: Instance, client: ConfluenceClient, progress: Progress) -> None:
        self.run_row = run
        self.instance = instance
        self.client = client
        self.tell = progress
        self.requests_before = client.requests_made
        self.last_beat = time.monotonic()
        self.problems = 0
        self.analytics_refused = False
        self.pool = ThreadPoolExecutor(
            max_workers=max(1, settings.DIRECTORY_ANALYTICS_CONCURRENCY), thread_name_prefix="directory-analytics"
        )

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def say(self, line: str, *, report: bool = True) -> None:
        """A progress line for whoever runs the sync; it is also the run's ``progress``, saved with the heartbeat."""
        self.tell(line)
        self.run_row.progress = line[:500]
        if report:
            self.beat()

    def beat(self) -> None:
        """Report that the run is alive, with its counts and latest line, at most once a BEAT_SECONDS.

        The write is conditional on the run still running: when the sweep has marked it failed (a long silence,
        e.g. a stopped clock or a frozen process that woke up), it raises SyncLost instead of undoing that.
        """
        if time.monotonic() - self.last_beat < BEAT_SECONDS:
            return
        self.last_beat = time.monotonic()
        row = self.run_row
        row.requests_made = self.client.requests_made - self.requests_before
        row.heartbeat_at = timezone.now()
        alive = SyncRun.objects.filter(pk=row.pk, status=SyncRun.Status.RUNNING)
        if not alive.update(**{name: getattr(row, name) for name in REPORTED_FIELDS}):
            raise SyncLost

    def finish(self) -> bool:
        """Save the run's outcome; False when the sweep marked it failed first (its outcome then stands)."""
        row = self.run_row
        row.requests_made = self.client.requests_made - self.requests_before
        row.finished_at = row.heartbeat_at = timezone.now()
        row.progress = summary(row)[:500]
        fields = {f.attname: getattr(row, f.attname) for f in SyncRun._meta.concrete_fields if not f.primary_key}
        return bool(SyncRun.objects.filter(pk=row.pk, status=SyncRun.Status.RUNNING).update(**fields))

    def error(self, message: str, *, report: bool = True) -> None:
        self.problems += 1
        if len(self.run_row.errors) < MAX_ERRORS:
            self.run_row.errors.append(message)
        elif len(self.run_row.errors) == MAX_ERRORS:
            self.run_row.errors.append("More problems followed; only the first ones are listed.")
        self.say(f"problem: {message}", report=report)

    def _fatal(self, error: ConfluenceError) -> None:
        """401 anywhere means no call can succeed: say so once and stop."""
        if isinstance(error, AuthenticationFailed) and error.status == 401:
            self.error(explain_credentials(error))
            raise SyncAborted from error

    def run(self, keys: list[str] | None) -> None:
        for space in self._spaces(keys):
            self._space_pages(space)
        self._users()

    # ------------------------------------------------------------------ spaces

    def _spaces(self, keys: list[str] | None) -> list[Space]:
        self.say("spaces: listing" + (f" {', '.join(keys)}" if keys else " every space the account can see"))
        try:
            remote = list(self.client.iter_spaces(keys))
        except ConfluenceError as error:
            self._fatal(error)
            if isinstance(error, AuthenticationFailed):
                self.error(
                    f"The spaces could not be listed ({error.status}): the service account needs the global "
                    "permission \"Can use\" Confluence. Nothing was synced."
                )
            else:
                self.error(f"The spaces could not be listed: {_describe(error)}. Nothing was synced.")
            raise SyncAborted from error
        if keys:
            found = {space.key for space in remote}
            for key in keys:
                if key not in found:
                    self.run_row.spaces_skipped += 1
                    self.error(
                        f"Space {key} was not found, or the service account may not see it: check the key and the "
                        "space's \"View\" permission. It was skipped."
                    )
        now = timezone.now()
        remote_ids = [r.id for r in remote]
        existing = {s.confluence_id: s for s in Space.objects.filter(instance=self.instance, confluence_id__in=remote_ids)}
        wanted = {
            item.id: {
                "key": item.key, "name": item.name[:255], "type": item.type, "status": item.status,
                "homepage_id": item.homepage_id or "", "web_url": item.web_url,
            }
            for item in remote
        }
        new, changed = _upsert(
            Space, existing, wanted, SPACE_FIELDS, now=now,
            make=lambda key, values: Space(instance=self.instance, confluence_id=key, first_seen_at=now, **values),
        )
        self.run_row.rows_written += len(new) + len(changed)
        if new:
            # bulk_create does not return ids on every database; the pages need them.
            existing = {s.confluence_id: s for s in Space.objects.filter(instance=self.instance, confluence_id__in=remote_ids)}
        rows = [existing[key] for key in wanted]
        self.say(f"spaces: {len(rows)} to read ({', '.join(r.key for r in rows) or 'none'})")
        return rows

    # ------------------------------------------------------------------ pages

    def _space_pages(self, space: Space) -> None:
        label = str(space)
        previous = Page.objects.filter(space=space).exclude(status=Page.Status.GONE).count()
        meter = _Meter(f"pages of {label}", expected=previous or None)
        seen: set[str] = set()  # ids only, one space at a time: what "gone" is measured against
        stream = self.client.iter_pages(space.confluence_id, limit=BATCH)
        try:
            for batch in _batches(stream, BATCH):
                self._write_pages(space, batch)
                seen.update(page.id for page in batch)
                self._activity(batch)
                meter.done += len(batch)
                self.say(meter.line())
        except ConfluenceError as error:
            self._fatal(error)
            self.run_row.spaces_skipped += 1
            self.error(explain_space(label, error))
            # Pages not reached are unknown, not gone: nothing is marked gone in a space read only in part.
            return
        self.run_row.spaces_seen += 1
        self._mark_gone(space, seen)

    def _write_pages(self, space: Space, batch: list[confluence_client.Page]) -> None:
        now = timezone.now()
        existing = {p.page_id: p for p in Page.objects.filter(instance=self.instance, page_id__in=[p.id for p in batch])}
        wanted = {
            item.id: {
                "space": space,
                "title": item.title[:255],
                "parent_id": item.parent_id or "",
                "status": item.status,
                "version": item.version,
                "created_at": item.created_at,
                "last_updated_at": item.version_created_at or item.created_at,
                "author_id": item.author_id or "",
                "web_url": item.web_url,
                "gone_at": None,
            }
            for item in batch
        }
        new, changed = _upsert(
            Page, existing, wanted, PAGE_FIELDS, now=now,
            make=lambda key, values: Page(instance=self.instance, page_id=key, first_seen_at=now, **values),
        )
        self.run_row.pages_seen += len(batch)
        self.run_row.pages_created += len(new)
        self.run_row.pages_updated += len(changed)
        self.run_row.rows_written += len(new) + len(changed)

    def _mark_gone(self, space: Space, seen: set[str]) -> None:
        now = timezone.now()
        stored = Page.objects.filter(space=space).exclude(status=Page.Status.GONE).values_list("pk", "page_id")
        gone = [pk for pk, page_id in stored.iterator(chunk_size=2000) if page_id not in seen]
        for chunk in _batches(iter(gone), 500):
            Page.objects.filter(pk__in=chunk).update(status=Page.Status.GONE, gone_at=now, changed_at=now)
        if gone:
            self.say(f"pages of {space}: {len(gone):,} no longer in Confluence, marked gone")
        self.run_row.pages_gone += len(gone)
        self.run_row.rows_written += len(gone)

    # ------------------------------------------------------------------ activity

    def _activity(self, batch: list[confluence_client.Page]) -> None:
        if self.analytics_refused:
            return
        futures: list[tuple[str, Future[tuple[int, int]]]] = [
            (page.id, self.pool.submit(self._read_activity, page.id)) for page in batch if page.status == "current"
        ]
        counts: dict[str, tuple[int, int]] = {}
        for page_id, future in futures:
            self.beat()  # a batch's views may take a while on a slow site: the run is alive meanwhile
            try:
                counts[page_id] = future.result()
            except NotFound:
                continue  # deleted between the listing and this call: the next sync marks it gone
            except ConfluenceError as error:
                self._fatal(error)
                if isinstance(error, AuthenticationFailed):
                    if not self.analytics_refused:
                        self.analytics_refused = True
                        self.error(explain_analytics(error))
                    for _, pending in futures:
                        pending.cancel()
                    break
                self.error(f"Views of page {page_id} could not be read: {_describe(error)}.")
        if counts:
            self._write_activity(counts)

    def _read_activity(self, page_id: str) -> tuple[int, int]:
        if self.analytics_refused:
            raise AuthenticationFailed(403, "analytics refused earlier in this run")
        return self.client.page_views(page_id), self.client.page_viewers(page_id)

    def _write_activity(self, counts: dict[str, tuple[int, int]]) -> None:
        now = timezone.now()
        pages = dict(Page.objects.filter(instance=self.instance, page_id__in=list(counts)).values_list("page_id", "pk"))
        existing = {a.page_id: a for a in PageActivity.objects.filter(page_id__in=list(pages.values()))}
        wanted = {
            pages[page_id]: {"views": views, "viewers": viewers}
            for page_id, (views, viewers) in counts.items()
            if page_id in pages
        }
        new, changed = _upsert(
            PageActivity, existing, wanted, ["views", "viewers"], now=now, stamp="fetched_at",
            make=lambda key, values: PageActivity(page_id=key, **values),
        )
        self.run_row.activity_fetched += len(counts)
        self.run_row.activity_written += len(new) + len(changed)
        self.run_row.rows_written += len(new) + len(changed)

    # ------------------------------------------------------------------ users

    def _users(self) -> None:
        previous = ConfluenceUser.objects.filter(instance=self.instance).count()
        meter = _Meter("users", expected=previous or None)
        try:
            for batch in _batches(self.client.iter_users(limit=USER_SEARCH_LIMIT), USERS_BULK_BATCH):
                found = {ref.account_id: ref for ref in batch}
                details = {user.account_id: user for user in self.client.users_bulk(list(found))}
                self._write_users(found, details)
                meter.done += len(batch)
                self.say(meter.line())
        except ConfluenceError as error:
            self._fatal(error)
            self.error(explain_users(error))

    def _write_users(
        self, found: dict[str, confluence_client.UserRef], details: dict[str, confluence_client.User]
    ) -> None:
        now = timezone.now()
        existing = {u.account_id: u for u in ConfluenceUser.objects.filter(instance=self.instance, account_id__in=list(found))}
        wanted = {}
        for account_id, ref in found.items():
            detail = details.get(account_id)
            wanted[account_id] = {
                "display_name": ((detail.display_name if detail else "") or ref.display_name)[:255],
                # Either answer may carry the email; both leave it out when the user hides it.
                "email": ((detail.email if detail else None) or ref.email or "")[:255],
                "account_status": detail.account_status if detail else "unknown",
                "account_type": (detail.account_type if detail else "") or ref.account_type,
                "time_zone": (detail.time_zone if detail else None) or "",
            }
        new, changed = _upsert(
            ConfluenceUser, existing, wanted, USER_FIELDS, now=now,
            make=lambda key, values: ConfluenceUser(instance=self.instance, account_id=key, first_seen_at=now, **values),
        )
        self.run_row.users_seen += len(found)
        self.run_row.users_created += len(new)
        self.run_row.users_updated += len(changed)
        self.run_row.rows_written += len(new) + len(changed)


def _upsert(
    model: type[M],
    existing: dict[Any, M],
    wanted: dict[Any, dict[str, Any]],
    fields: Iterable[str],
    *,
    now: dt.datetime,
    make: Callable[[Any, dict[str, Any]], M],
    stamp: str = "changed_at",
) -> tuple[list[M], list[M]]:
    """Insert the wanted rows that are missing and update those whose values differ, stamping both with `now`.

    `existing` maps a key to its stored row, `wanted` a key to the values it should hold; a row whose values are
    already right is not written, which is what makes a second sync write nothing. Returns (new, changed).
    """
    new: list[M] = []
    changed: list[M] = []
    for key, values in wanted.items():
        row = existing.get(key)
        if row is None:
            row = make(key, values)
            setattr(row, stamp, now)
            new.append(row)
        elif _assign(row, values):
            setattr(row, stamp, now)
            changed.append(row)
    if new or changed:
        with transaction.atomic():
            model.objects.bulk_create(new)
            model.objects.bulk_update(changed, [*fields, stamp])
    return new, changed


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set the values that differ on ``row``; True when any did. The comparison is what makes re-runs write nothing."""
    changed = False
    for name, value in values.items():
        current = getattr(row, name)
        if isinstance(value, Space):
            if row.space_id != value.pk:
                row.space = value
                changed = True
            continue
        # Aware datetimes compare as instants, so the database's UTC and Confluence's "Z" agree.
        if current != value:
            setattr(row, name, value)
            changed = True
    return changed


def _batches(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while batch := list(islice(items, size)):
        yield batch


# ---------------------------------------------------------------------- on the task queue


def sync_enqueue(*, instance: Instance, spaces: Iterable[str] | None = None) -> SyncRun:
    """Queue a sync for a background worker, and the sweep that watches syncs; the returned run is ``queued`` and
    fills in as the worker goes (its progress and counts are saved with its heartbeat)."""
    from directory.tasks import directory_sync_task

    keys = [key.strip() for key in spaces or [] if key.strip()]
    with transaction.atomic():
        run = SyncRun.objects.create(instance=instance, spaces_requested=keys, status=SyncRun.Status.QUEUED)
        directory_sync_task.enqueue(run.pk)
        sync_sweep_ensure()
    return run


def sync_run_queued(*, run_id: int) -> SyncRun | None:
    """Run a queued sync on this worker; None when another worker has taken it (or it is no longer queued)."""
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING, heartbeat_at=timezone.now()
    )
    if not claimed:
        return None
    run = SyncRun.objects.select_related("instance").get(pk=run_id)
    return sync_run(instance=run.instance, spaces=run.spaces_requested or None, run=run)


# ---------------------------------------------------------------------- runs whose process died


def sync_sweep_ensure() -> bool:
    """Make sure the directory's sweep is waiting."""
    from directory.tasks import directory_sync_sweep_task

    return sweep_ensure(task=directory_sync_sweep_task, stale_after=settings.DIRECTORY_SYNC_STALE_AFTER_SECONDS)


def sync_runs_sweep() -> int:
    """One round of the sweep task: stale runs failed; the sweep comes back while any sync is queued or running."""
    return sweep_round(
        sweep=sync_runs_fail_stale,
        in_flight=SyncRun.objects.filter(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]).exists,
        ensure=sync_sweep_ensure,
    )


def sync_runs_fail_stale(*, older_than: dt.timedelta | None = None) -> int:
    """Running syncs that have not reported for DIRECTORY_SYNC_STALE_AFTER_SECONDS: their worker (or command) was
    killed. Each is marked failed with what it had synced, by one conditional UPDATE on the heartbeat it read, so
    sweeps may run at once. Returns how many were failed.

    Failed rather than run again: a sync is cheap to repeat by hand, and one that kills its worker (a site too
    large for the worker's memory) would otherwise kill the next worker too.
    """
    age = older_than or dt.timedelta(seconds=settings.DIRECTORY_SYNC_STALE_AFTER_SECONDS)
    now = timezone.now()
    stale = SyncRun.objects.filter(
        models.Q(heartbeat_at__lt=now - age) | models.Q(heartbeat_at__isnull=True, started_at__lt=now - age),
        status=SyncRun.Status.RUNNING,
    ).select_related("instance")
    failed = 0
    for run in list(stale):
        message = explain_stopped(run, now=now)
        same = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING, heartbeat_at=run.heartbeat_at)
        if same.update(status=SyncRun.Status.FAILED, finished_at=now, errors=[*run.errors, message], progress=message[:500]):
            failed += 1
            logger.warning("directory sync %s of %s: %s", run.pk, run.instance, message)
    return failed


def explain_stopped(run: SyncRun, *, now: dt.datetime) -> str:
    silent = (now - (run.heartbeat_at or run.started_at)).total_seconds()
    return (
        f"The worker running this sync stopped (nothing heard from it for {_seconds(silent)}): "
        f"{_count(run.pages_seen, 'page')} and {_count(run.users_seen, 'user')} were synced before it stopped and "
        "are kept. Run the sync again."
    )

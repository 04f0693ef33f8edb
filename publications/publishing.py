"""Running one publication on a worker: plan the bundle, then create, update or leave each page, parents first.

Pages are written by a small pool of threads, each holding one of the instance's slots (shared by every worker
process) for the page it writes; a page starts once its parent has a page id. Every page is saved the moment it
finishes, and a page id the moment Confluence gives it, so a run that dies is resumed where it stopped: pages done
are skipped, a page created just before the crash is found by its title (created since this publication began) and
used, never created twice.

Whether a page changed is the import's rule (`imports.services.page_hash` over title and storage body), compared with
what the portal recorded when it last wrote the page; whether someone edited it in Confluence is its version against
the one the portal last wrote. The versions of every known page come in one request per 250 pages, so a run that
changes nothing costs a request or two. The import's page property (its content hash) is read when a page an import
wrote is adopted, and not written: the portal's own record serves publications, and it saves a request a page.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import logging
import os
import queue
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from confluence import errors as cf
from confluence.client import ConfluenceClient, Page
from imports.models import ImportRecord
from imports.services import PROPERTY_KEY, page_hash
from portal.attachments import AttachmentCounts, attachments_foreseen, attachments_listed, attachments_sync
from portal.conversion import converter_options
from portal.errors import PortalError
from publications.bundle import read_bundle
from publications.models import Publication, PublicationBundle, PublicationPage, PublishedPage
from publications.plan import (
    Plan,
    PlannedPage,
    Rendering,
    may_split,
    plan_tree,
    resolve_references,
    split_oversized,
)
from publications.services import bundle_limits, confluence_failure
from publications.throttle import DatabaseThrottle, slot_acquire, slot_release, slots_renew
from tokens import confluence as instance_confluence

logger = logging.getLogger(__name__)

State = Publication.State
Status = PublicationPage.Status
Action = PublicationPage.Action
HEARTBEAT_SECONDS = 5.0
PLANNING_POLL_SECONDS = 0.005
SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005 (see _quick_switching)
CLOCK_SKEW = dt.timedelta(minutes=1)
_BLOCK_END = re.compile(r"(</(?:p|h[1-6]|li|ul|ol|tr|table|thead|tbody|pre|blockquote|ac:structured-macro|ac:layout)>)")


class Superseded(Exception):
    """Another worker has taken this publication over (this one was thought dead): stop without writing more."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def publication_run(*, publication_id: str) -> Publication | None:
    """Claim a queued publication and run it to the end. Returns None when it was not ours to run."""
    now = timezone.now()
    claimed = Publication.objects.filter(pk=publication_id, state=State.QUEUED).update(
        state=State.RUNNING, heartbeat_at=now, worker=worker_name()[:200], attempts=F("attempts") + 1
    )
    if not claimed:
        logger.info("publication %s is not queued (already taken or finished); nothing to do", publication_id)
        return None
    Publication.objects.filter(pk=publication_id, started_at__isnull=True).update(started_at=now)
    publication = Publication.objects.select_related("instance").get(pk=publication_id)
    run = _Run(publication)
    try:
        with _quick_switching():
            run.execute()
    except Superseded:
        logger.warning("publication %s was taken over by another worker; this run stops", publication_id)
        return None
    except PortalError as error:
        run.finish(State.FAILED, code=error.code, message=error.message)
    except Exception as exc:
        logger.exception("publication %s failed", publication_id)
        run.finish(State.FAILED, code="internal_error", message=f"the run stopped on an unexpected error ({type(exc).__name__}); see the worker's log")
    finally:
        run.close()
    publication.refresh_from_db()
    return publication


_switching = {"runs": 0, "saved": 0.0}
_switching_lock = threading.Lock()


@contextmanager
def _quick_switching() -> Iterator[None]:
    """The interpreter's switch interval at SWITCH_INTERVAL while publications run in this process (restored when the
    last one ends). A run's threads mostly wait for Confluence and the database; each needs the GIL for a moment when
    its wait is over, and gets it from a busy thread (the planner, a page's rendering) only after the interval."""
    with _switching_lock:
        if not _switching["runs"]:
            _switching["saved"] = sys.getswitchinterval()
            sys.setswitchinterval(min(_switching["saved"], SWITCH_INTERVAL))
        _switching["runs"] += 1
    try:
        yield
    finally:
        with _switching_lock:
            _switching["runs"] -= 1
            if not _switching["runs"]:
                sys.setswitchinterval(_switching["saved"])


@dataclass
class _Outcome:
    status: str
    page: Page | None = None
    action: str = ""
    diff: str = ""
    error: PortalError | None = None
    uploaded: int = 0
    unchanged: int = 0
    removed: int = 0
    record: ImportRecord | None = None
    warnings: list[str] = field(default_factory=list)


class _PagePool:
    """The threads that write a run's pages. Each keeps its database connection from one page to the next (opening
    one costs more than a page's own queries) and closes it when the run is over. ``idle`` is called on a thread
    that finds no page waiting for it."""

    def __init__(self, size: int, *, idle: Callable[[], None]) -> None:
        self.idle = idle
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.threads = [threading.Thread(target=self._work, name=f"publication_{n}", daemon=True) for n in range(size)]

    def __enter__(self) -> _PagePool:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for _ in self.threads:
            self.jobs.put(None)  # after the jobs already queued, as ThreadPoolExecutor's shutdown does
        for thread in self.threads:
            thread.join()

    def submit(self, job: Callable[..., None], *args: object) -> Future:
        future: Future = Future()
        self.jobs.put((future, job, args))
        return future

    def _work(self) -> None:
        try:
            while (item := self.jobs.get()) is not None:
                future, job, args = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(job(*args))
                except BaseException as exc:  # handed to the scheduler, which re-raises it
                    future.set_exception(exc)
                if self.jobs.empty():
                    self._idle()
        finally:
            self._idle()
            connections.close_all()  # this thread's

    def _idle(self) -> None:
        try:
            self.idle()
        except Exception:  # the thread must go on with the pages queued for it (a slot's lease runs out by itself)
            logger.exception("a publication thread could not give its instance slot back")


class _Run:
    def __init__(self, publication: Publication) -> None:
        self.publication = publication
        self.instance = publication.instance
        self.attempt = publication.attempts
        self.holder = f"{worker_name()}/{uuid.uuid4().hex[:8]}"
        self.concurrency = max(1, settings.PUBLICATION_CONCURRENCY_PER_INSTANCE)
        # A page takes one of the instance's slots with its first Confluence request, and its thread gives it back
        # when no other page waits for it: pages that need no request (unchanged, known from the batch read) never
        # queue for one.
        self.local = threading.local()
        self.throttle = DatabaseThrottle(self.instance.pk, before_request=self._hold_slot)
        self.beaten = time.monotonic()
        self.client: ConfluenceClient | None = None
        self.ids: dict[str, str] = {}  # plan key -> page id, for children
        self.failed_keys: set[str] = set()
        self.lock = threading.Lock()
        self.write_lock = threading.RLock()  # see _writing
        self.first_started = publication.started_at or timezone.now()
        self.asked: set[str] = set()
        self.current_pages: dict[str, Page] = {}

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A transaction of a page thread, in its turn (see _turn)."""
        with self._turn(), transaction.atomic():
            yield

    def _turn(self) -> AbstractContextManager:
        """SQLite has one writer at a time, and a connection that finds it busy sleeps 1, 2, 5, 10… ms before it
        looks again: the run's threads take turns on a lock of their own, which hands it on at once, before they
        ask SQLite for it."""
        return self.write_lock if connection.vendor == "sqlite" else nullcontext()

    def _hold_slot(self) -> None:
        if getattr(self.local, "slot", None) is None:
            holder = f"{self.holder}/{threading.get_ident()}"
            self.local.slot = (slot_acquire(self.instance.pk, holder), holder)

    def _release_slot(self) -> None:
        held = getattr(self.local, "slot", None)
        if held is not None:
            slot_release(self.instance.pk, held[0], held[1])
            self.local.slot = None

    def close(self) -> None:
        self._release_slot()  # the main thread's, should its space or batch read have failed
        if self.client is not None:
            self.client.close()

    # ---------------------------------------------------------------- the run

    def execute(self) -> None:
        bundle_row = PublicationBundle.objects.filter(publication=self.publication).first()
        if bundle_row is None:
            raise PortalError("the bundle of this publication is no longer stored", code="bundle_missing")
        bundle = read_bundle(bytes(bundle_row.data), limits=bundle_limits())
        options = converter_options()
        # Each page is rendered while the bundle is planned, once: the page threads write what the planner rendered.
        rendering = Rendering(space_key=self.publication.space_key, math=options.math, diagrams=options.diagrams)
        plan = plan_tree(bundle, rendering=rendering)
        max_bytes = settings.PUBLICATION_MAX_PAGE_BYTES
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="publication-plan") as planner:
            if may_split(plan, max_body_bytes=max_bytes):
                resolve_references(plan)
                plan = split_oversized(plan, space_key=self.publication.space_key, max_body_bytes=max_bytes)
                planning = None
            else:
                # No page can be split, so the pages are known already: they are written while the planner renders
                # the rest, each once its rendering no longer depends on pages still to be read (Plan.rendered).
                planning = planner.submit(resolve_references, plan)
            rows = self._rows(plan)
            if planning is None:
                self._broken_links(plan)
            self._start(rows)
            by_key = {page.key: page for page in plan.pages}
            todo = [row for row in rows if row.finished_at is None]
            self._prefetch(todo)
            self._release_slot()  # taken by this thread's space and batch reads
            self._schedule(todo, by_key, plan, planning)
            if planning is not None:
                planning.result()
                self._broken_links(plan)
        self._orphans(rows)
        rows = list(self.publication.pages.all())
        statuses = [row.status for row in rows]
        if all(status == Status.FAILED for status in statuses):
            first = next(row for row in rows if row.status == Status.FAILED)
            self.finish(State.FAILED, code=first.error_code, message=f"no page could be published: {first.error_message}")
        elif any(status in (Status.FAILED, Status.DRIFTED) for status in statuses):
            self.finish(State.PARTIAL)
        else:
            self.finish(State.SUCCEEDED)

    def _broken_links(self, plan: Plan) -> None:
        links = [{"path": link.path, "href": link.href} for link in plan.broken_links]
        Publication.objects.filter(pk=self.publication.pk).update(broken_links=links)

    def _start(self, rows: list[PublicationPage]) -> None:
        """The Confluence client, the space checked, and what a resumed run finds done."""
        self.client = instance_confluence.build_client(self.instance, throttle=self.throttle, pool_size=self.concurrency + 2)
        try:
            self.client.space(self.publication.space_id)
        except cf.ConfluenceError as error:
            raise confluence_failure(error) from error
        for row in rows:
            if row.finished_at is not None and row.page_id:
                self.ids[row.key] = row.page_id
            elif row.finished_at is not None and row.action == Action.CREATE:
                self.ids[row.key] = ""
            elif row.finished_at is not None:
                self.failed_keys.add(row.key)

    def _prefetch(self, todo: list[PublicationPage]) -> None:
        """The current version (and, for a dry run, body) of every page this run may have written before."""
        known = PublishedPage.objects.filter(instance=self.instance, space_id=self.publication.space_id).filter(
            Q(title__in=[row.title for row in todo]) | Q(page_id__in=[row.page_id for row in todo if row.page_id])
        )
        ids = [page.page_id for page in known if self._same_tree(page)]
        assert self.client is not None
        try:
            found = self.client.pages_by_id(ids, with_body=self.publication.dry_run) if ids else {}
        except cf.ConfluenceError as error:
            raise confluence_failure(error) from error
        self.asked = set(ids)
        self.current_pages = {pid: page for pid, page in found.items() if page.status == "current"}

    def _rows(self, plan: Plan) -> list[PublicationPage]:
        rows = list(self.publication.pages.order_by("order"))
        if rows:
            return rows  # a resumed run: the plan of a bundle is the same every time
        rows = [
            PublicationPage(
                publication=self.publication, order=n, key=page.key, path=page.path or "", parent_key=page.parent or "",
                title=page.title,
            )
            for n, page in enumerate(plan.pages)
        ]
        with transaction.atomic():
            PublicationPage.objects.bulk_create(rows)
            Publication.objects.filter(pk=self.publication.pk).update(total=len(rows))
        return list(self.publication.pages.order_by("order"))

    def _schedule(
        self, todo: list[PublicationPage], by_key: dict[str, PlannedPage], plan: Plan, planning: Future | None
    ) -> None:
        """Writes the pages, each once its parent has a page id and its rendering is known (``planning``, the
        planner still at work, or done)."""
        waiting = list(todo)
        running: dict[Future, PublicationPage] = {}
        # A thread gives its instance slot back when no page waits for it: taken and given back between two pages
        # of one thread, it would cost two writes a page and let no other worker in sooner.
        with _PagePool(self.concurrency, idle=self._release_slot) as pool:
            while waiting or running:
                planned = planning is None or planning.done()
                if planning is not None and planned:
                    planning.result()  # the planner's error is the run's
                for row in list(waiting):
                    parent = row.parent_key or None
                    if parent is not None and parent in self.failed_keys:
                        waiting.remove(row)
                        self._save(row, _Outcome(Status.FAILED, error=PortalError(
                            "its parent page could not be published", code="parent_failed")))
                        with self.lock:
                            self.failed_keys.add(row.key)
                        continue
                    rendered = planned or row.key in plan.rendered or by_key[row.key].path is None
                    if rendered and (parent is None or parent in self.ids):
                        waiting.remove(row)
                        running[pool.submit(self._page_job, row, by_key[row.key], plan)] = row
                if not running and planned:
                    break
                # While the planner renders, pages become ready without any page finishing: look again soon.
                timeout = HEARTBEAT_SECONDS if planned else PLANNING_POLL_SECONDS
                finished, _ = wait([*running, *([] if planned else [planning])], timeout=timeout, return_when=FIRST_COMPLETED)
                if time.monotonic() - self.beaten >= HEARTBEAT_SECONDS:
                    self.heartbeat()  # each finished page reports too (in _save); this covers long pages
                for future in finished:
                    if future is planning:
                        continue
                    running.pop(future)
                    future.result()  # a job's own errors are saved on its page; this re-raises only Superseded

    def heartbeat(self) -> None:
        self.beaten = time.monotonic()
        alive = Publication.objects.filter(
            pk=self.publication.pk, state=State.RUNNING, attempts=self.attempt
        ).update(heartbeat_at=timezone.now())
        if not alive:
            raise Superseded
        slots_renew(self.instance.pk, self.holder)

    def finish(self, state: str, *, code: str = "", message: str = "") -> None:
        done = self.publication.pages.filter(finished_at__isnull=False).count()  # a dry run's pages stay "pending"
        requests = self.client.requests_made if self.client is not None else 0
        with transaction.atomic():
            Publication.objects.filter(pk=self.publication.pk, attempts=self.attempt).update(
                state=state, finished_at=timezone.now(), heartbeat_at=timezone.now(), done=done,
                error_code=code[:64], error_message=message[:1000], requests_made=F("requests_made") + requests,
            )
            PublicationBundle.objects.filter(publication_id=self.publication.pk).delete()

    # ---------------------------------------------------------------- one page

    def _page_job(self, row: PublicationPage, planned: PlannedPage, plan: Plan) -> None:
        try:
            parent_id = self.publication.root_parent_id if not planned.parent else self.ids[planned.parent]
            try:
                outcome = self._page(row, planned, plan, parent_id)
            except cf.ConfluenceError as error:
                outcome = _Outcome(Status.FAILED, error=confluence_failure(error))
            except PortalError as error:
                outcome = _Outcome(Status.FAILED, error=error)
            except Superseded:
                raise
            except Exception as exc:
                logger.exception("publication %s: page %s failed", self.publication.pk, row.key)
                outcome = _Outcome(Status.FAILED, error=PortalError(
                    f"unexpected error in the portal ({type(exc).__name__}); see the worker's log", code="internal_error"))
            self._save(row, outcome)
            # Children go under their parent when it exists and is ours (created, updated, unchanged or drifted, or
            # failed after it was created); under a page of the same title that is not ours, never.
            with self.lock:
                if row.page_id and row.error_code != "title_exists":
                    self.ids[row.key] = row.page_id
                elif outcome.action == Action.CREATE:
                    self.ids[row.key] = ""  # a dry run's page to be: its children are looked at too
                else:
                    self.failed_keys.add(row.key)
        finally:
            close_old_connections()  # as after a request: one that failed or outlived CONN_MAX_AGE is not kept

    def _save(self, row: PublicationPage, outcome: _Outcome) -> None:
        # A page this publication created (in this run, or in one that died) is reported created, whatever the
        # resumed run then had to do to it.
        written = outcome.status in (Status.UNCHANGED, Status.UPDATED)
        row.status = Status.CREATED if written and row.created_page else outcome.status
        row.action = outcome.action
        row.diff = outcome.diff
        if outcome.page is not None:
            row.page_id, row.page_url = outcome.page.id, outcome.page.web_url or ""
            row.version = outcome.page.version
        row.attachments_uploaded += outcome.uploaded
        row.attachments_unchanged = outcome.unchanged
        row.attachments_removed += outcome.removed
        row.warnings = outcome.warnings
        if outcome.error is not None:
            row.error_code, row.error_message = outcome.error.code[:64], outcome.error.message[:1000]
            if not row.page_id and outcome.error.extra.get("pageId"):
                row.page_id = str(outcome.error.extra["pageId"])
        if outcome.record is not None:
            row.import_record = outcome.record
        row.finished_at = timezone.now()
        with self._writing():
            alive = Publication.objects.filter(pk=self.publication.pk, state=State.RUNNING, attempts=self.attempt)
            if not alive.update(done=F("done") + 1, heartbeat_at=timezone.now()):
                raise Superseded
            row.save()

    def _page(self, row: PublicationPage, planned: PlannedPage, plan: Plan, parent_id: str) -> _Outcome:
        rendered = plan.render(planned)
        digest = page_hash(planned.title, rendered.body)
        row.content_hash = digest
        known = self._known(row, planned.title)
        current: Page | None = None
        if known is not None:
            current = self._current(known.page_id, with_body=self.publication.dry_run)
            if current is None:
                PublishedPage.objects.filter(pk=known.pk).delete()  # gone from Confluence: publish it anew
                known = None
        if self.publication.dry_run:
            outcome = self._dry(row, planned, rendered, digest, known, current)
        else:
            outcome = self._write(row, planned, rendered, digest, parent_id, known, current)
        outcome.warnings = list(rendered.warnings)
        return outcome

    def _known(self, row: PublicationPage, title: str) -> PublishedPage | None:
        """The page this file was published to before, when it belongs to this tree."""
        pages = PublishedPage.objects.filter(instance=self.instance, space_id=self.publication.space_id)
        found = pages.filter(page_id=row.page_id).first() if row.page_id else None
        found = found or pages.filter(title=title).order_by("-written_at").first()
        return found if found is not None and self._same_tree(found) else None

    def _same_tree(self, page: PublishedPage) -> bool:
        if self.publication.source_prefix:
            return page.source_prefix == self.publication.source_prefix
        return not page.source_prefix and page.root_parent_id == self.publication.root_parent_id

    def _current(self, page_id: str, *, with_body: bool = False) -> Page | None:
        if page_id in self.asked:
            return self.current_pages.get(page_id)
        assert self.client is not None
        try:
            page = self.client.page(page_id, with_body=with_body)
        except cf.NotFound:
            return None
        return page if page.status == "current" else None

    # ---------------------------------------------------------------- writes

    def _write(self, row, planned, rendered, digest, parent_id, known, current) -> _Outcome:
        assert self.client is not None
        overwrite = self.publication.overwrite
        if known is not None and current is not None:
            if current.version > known.version and overwrite != Publication.Overwrite.FORCE:
                return _Outcome(Status.DRIFTED, page=current)
            same = (
                current.version == known.version and known.content_hash == digest
                and (known.parent_id or "") == (parent_id or "") and current.title == planned.title
            )
            if same:
                outcome = _Outcome(Status.UNCHANGED, page=current)
            else:
                outcome = self._update(row, planned, rendered, digest, parent_id, current, known)
            if outcome.status == Status.FAILED or outcome.status == Status.DRIFTED:
                return outcome
            attachments = self._attachments(outcome, rendered, current.id, known.attachments, listed=False)
            untouched = (
                outcome.status == Status.UNCHANGED and attachments == known.attachments and known.orphaned_by_id is None
                and known.path == (planned.path or planned.key) and known.publication_id is not None
            )
            if not untouched:  # the record already says all of it: spare a write per unchanged page
                self._remember(outcome.page or current, planned, digest, parent_id, attachments=attachments)
            return outcome

        record = self._record(row, planned, parent_id, digest)
        try:
            page = self.client.create_page(
                space_id=self.publication.space_id, title=planned.title, body=rendered.body, parent_id=parent_id,
                marker=self._ours,
            )
        except cf.TitleExists as error:
            return self._title_taken(row, planned, rendered, digest, parent_id, error, record)
        except cf.ConfluenceError as error:
            return self._failed(record, error)
        # The page id is kept before anything else can fail: a retry finds it here instead of creating it again.
        # One transaction (SQLite has one writer at a time; every commit counts when pages are written at once).
        row.page_id, row.page_url, row.created_page = page.id, page.web_url or "", True
        with self._writing():
            PublicationPage.objects.filter(pk=row.pk).update(page_id=page.id, page_url=row.page_url, created_page=True)
            self._remember(page, planned, digest, parent_id, attachments={})
            self._finish_record(record, ImportRecord.Operation.CREATED, page)
        outcome = _Outcome(Status.CREATED, page=page, record=record)
        if rendered.labels:
            self.client.add_labels(page.id, list(rendered.labels))
        attachments = self._attachments(outcome, rendered, page.id, {}, listed=False)
        if attachments:
            self._remember(page, planned, digest, parent_id, attachments=attachments)
        return outcome

    def _ours(self, page: Page) -> bool:
        # Created since this publication first started: the answer of our own create was lost, or a dead worker
        # created it just before it could record the id. A minute's leeway for clock skew, as imports allow.
        return page.version == 1 and page.created_at is not None and page.created_at >= self.first_started - CLOCK_SKEW

    def _title_taken(self, row, planned, rendered, digest, parent_id, error: cf.TitleExists, record) -> _Outcome:
        assert self.client is not None
        existing = self.client.page_by_title(self.publication.space_id, planned.title)
        if existing is None:
            return self._failed(record, error)
        # Only a resumed run can meet a page it created itself (its worker died before recording the id); within one
        # run, a create whose answer was lost is recognised by the client before it reports a duplicate title.
        ours = self.attempt > 1 and self._ours(existing)
        if not ours and self.publication.overwrite == Publication.Overwrite.NO:
            failure = PortalError(
                f"a page titled {planned.title!r} already exists in the space and was not published from this tree; "
                "send overwrite=true to adopt it",
                code="title_exists", status=409, extra={"pageId": existing.id},
            )
            record.status, record.http_status, record.error_code = ImportRecord.Status.REJECTED, 409, "title_exists"
            record.error_message, record.page_id = failure.message[:500], existing.id
            record.finished_at = timezone.now()
            record.save()
            return _Outcome(Status.FAILED, error=failure, record=record)
        current_property = self.client.get_property(existing.id, PROPERTY_KEY)
        value = current_property.value if current_property is not None else None
        if isinstance(value, dict) and value.get("contentHash") == digest and existing.parent_id == parent_id:
            outcome = _Outcome(Status.CREATED if ours else Status.UNCHANGED, page=existing)
        else:
            outcome = self._update(row, planned, rendered, digest, parent_id, existing, None)
        if outcome.status in (Status.FAILED, Status.DRIFTED):
            return outcome
        if ours:
            row.created_page = True
        listed = self._listed_attachments(existing.id)
        attachments = self._attachments(outcome, rendered, existing.id, listed, listed=True)
        self._remember(outcome.page or existing, planned, digest, parent_id, attachments=attachments)
        return outcome

    def _update(
        self, row, planned, rendered, digest, parent_id, current: Page, known: PublishedPage | None
    ) -> _Outcome:
        assert self.client is not None
        record = self._record(row, planned, parent_id, digest)
        message = self.publication.version_message or None
        try:
            try:
                page = self.client.update_page(
                    page_id=current.id, title=planned.title, body=rendered.body, version=current.version + 1,
                    message=message, parent_id=parent_id,
                )
            except cf.VersionConflict:
                latest = self.client.page(current.id)
                if known is not None and latest.version > known.version and \
                        self.publication.overwrite != Publication.Overwrite.FORCE:
                    return _Outcome(Status.DRIFTED, page=latest)
                page = self.client.update_page(
                    page_id=current.id, title=planned.title, body=rendered.body, version=latest.version + 1,
                    message=message, parent_id=parent_id,
                )
        except cf.ConfluenceError as error:
            return self._failed(record, error)
        row.page_id = page.id
        self._finish_record(record, ImportRecord.Operation.UPDATED, page)
        if rendered.labels:
            self.client.add_labels(page.id, list(rendered.labels))
        return _Outcome(Status.UPDATED, page=page, record=record)

    def _listed_attachments(self, page_id: str) -> dict[str, dict[str, str]]:
        """A page the portal has no record of: its attachments as Confluence lists them."""
        assert self.client is not None
        return attachments_listed(client=self.client, page_id=page_id)

    def _attachments(self, outcome: _Outcome, rendered, page_id: str, known: dict, *, listed: bool) -> dict:
        """The page's attachments brought in line with what it references (portal.attachments' rules)."""
        assert self.client is not None
        counts = AttachmentCounts()
        current = attachments_sync(
            client=self.client, page_id=page_id, wanted=rendered.attachments, known=known, listed=listed, counts=counts
        )
        outcome.uploaded += counts.uploaded
        outcome.unchanged += counts.unchanged
        outcome.removed += counts.removed
        return current

    def _remember(self, page: Page, planned, digest, parent_id, *, attachments: dict) -> PublishedPage:
        """Record the page as the portal has just left it: the base of the next run's unchanged and drift checks."""
        values = {
            "space_id": self.publication.space_id, "space_key": self.publication.space_key, "title": planned.title,
            "page_url": page.web_url or "", "parent_id": parent_id or "", "source_prefix": self.publication.source_prefix,
            "root_parent_id": self.publication.root_parent_id, "path": planned.path or planned.key,
            "version": page.version, "content_hash": digest, "publication": self.publication,
            "written_at": timezone.now(), "orphaned_by": None, "archived_at": None, "attachments": attachments,
        }
        with self._turn():  # update_or_create is a transaction of its own
            record, _ = PublishedPage.objects.update_or_create(instance=self.instance, page_id=page.id, defaults=values)
        return record

    # ---------------------------------------------------------------- audit

    def _record(self, row: PublicationPage, planned: PlannedPage, parent_id: str, digest: str) -> ImportRecord:
        publication = self.publication
        markdown = planned.markdown.encode("utf-8", "surrogatepass") if planned.markdown else b""
        return ImportRecord(
            request_id=publication.request_id or str(publication.pk),
            received_at=timezone.now(),
            instance=self.instance,
            token=None,  # the publication's token; left out so page writes do not count as the token's imports
            token_hint=publication.token_hint,
            client_ip=publication.client_ip,
            user_agent=f"publication {publication.pk}"[:300],
            space_key=publication.space_key,
            space_id=publication.space_id,
            parent_id=parent_id or "",
            title=planned.title,
            source_ref=(f"{publication.source_ref} " if publication.source_ref else "") + (planned.path or planned.key),
            content_bytes=len(markdown),
            content_sha256=hashlib.sha256(markdown).hexdigest(),
            page_hash=digest,
        )

    def _finish_record(self, record: ImportRecord, operation: str, page: Page) -> None:
        record.status = ImportRecord.Status.SUCCEEDED
        record.operation = operation
        record.http_status = 201 if operation == ImportRecord.Operation.CREATED else 200
        record.page_id, record.page_version, record.page_url = page.id, page.version, page.web_url or ""
        record.finished_at = timezone.now()
        record.duration_ms = int((record.finished_at - record.received_at).total_seconds() * 1000)
        record.save()

    def _failed(self, record: ImportRecord, error: cf.ConfluenceError) -> _Outcome:
        failure = confluence_failure(error, record)
        record.status = ImportRecord.Status.FAILED if failure.status >= 500 else ImportRecord.Status.REJECTED
        record.http_status, record.error_code, record.error_message = failure.status, failure.code, failure.message[:500]
        record.finished_at = timezone.now()
        record.save()
        return _Outcome(Status.FAILED, error=failure, record=record)

    # ---------------------------------------------------------------- dry run

    def _dry(self, row, planned, rendered, digest, known, current) -> _Outcome:
        assert self.client is not None
        overwrite = self.publication.overwrite
        attachments = known.attachments if known is not None else {}
        if known is not None and current is not None:
            if current.version > known.version and overwrite != Publication.Overwrite.FORCE:
                return _Outcome(Status.DRIFTED, page=current, action=Action.DRIFTED)
            if current.version == known.version and known.content_hash == digest and current.title == planned.title:
                return self._dry_attachments(_Outcome(Status.UNCHANGED, page=current, action=Action.UNCHANGED), rendered, attachments)
            return self._dry_attachments(
                _Outcome(Status.PENDING, page=current, action=Action.UPDATE, diff=_diff(current.body or "", rendered.body, planned)),
                rendered, attachments)
        existing = self.client.page_by_title(self.publication.space_id, planned.title, with_body=True)
        if existing is None:
            return self._dry_attachments(
                _Outcome(Status.PENDING, action=Action.CREATE, diff=_diff("", rendered.body, planned)), rendered, {})
        if overwrite == Publication.Overwrite.NO:
            return _Outcome(Status.FAILED, error=PortalError(
                f"a page titled {planned.title!r} already exists in the space and was not published from this tree; "
                "send overwrite=true to adopt it", code="title_exists", status=409, extra={"pageId": existing.id}))
        prop = self.client.get_property(existing.id, PROPERTY_KEY)
        if prop is not None and isinstance(prop.value, dict) and prop.value.get("contentHash") == digest:
            return self._dry_attachments(_Outcome(Status.UNCHANGED, page=existing, action=Action.UNCHANGED), rendered,
                                         self._listed_attachments(existing.id))
        return self._dry_attachments(
            _Outcome(Status.PENDING, page=existing, action=Action.UPDATE, diff=_diff(existing.body or "", rendered.body, planned)),
            rendered, self._listed_attachments(existing.id))

    @staticmethod
    def _dry_attachments(outcome: _Outcome, rendered, known: dict) -> _Outcome:
        counts = attachments_foreseen(wanted=rendered.attachments, known=known)
        outcome.uploaded, outcome.unchanged, outcome.removed = counts.uploaded, counts.unchanged, counts.removed
        return outcome

    # ---------------------------------------------------------------- orphans

    def _orphans(self, rows: list[PublicationPage]) -> None:
        rows = list(self.publication.pages.all())
        ids = {row.page_id for row in rows if row.page_id}
        titles = {row.title for row in rows}
        tree = PublishedPage.objects.filter(
            instance=self.instance, space_id=self.publication.space_id, archived_at__isnull=True
        )
        if self.publication.source_prefix:
            tree = tree.filter(source_prefix=self.publication.source_prefix)
        else:
            tree = tree.filter(source_prefix="", root_parent_id=self.publication.root_parent_id)
        orphans = list(tree.exclude(Q(page_id__in=ids) | Q(title__in=titles)).order_by("path"))
        report = [{"pageId": o.page_id, "title": o.title, "url": o.page_url, "path": o.path} for o in orphans]
        Publication.objects.filter(pk=self.publication.pk).update(orphans=report)
        if not self.publication.dry_run and orphans:
            PublishedPage.objects.filter(pk__in=[o.pk for o in orphans]).update(orphaned_by=self.publication)


def _diff(before: str, after: str, planned: PlannedPage) -> str:
    def lines(body: str) -> list[str]:
        return [line for line in _BLOCK_END.sub(r"\1\n", body).splitlines(keepends=True) if line.strip()]

    name = planned.path or planned.key
    text = "".join(difflib.unified_diff(lines(before), lines(after), f"confluence/{name}", f"bundle/{name}", n=2))
    return text


"""Publications: submit one (checked and queued at once), run it on a worker, recover from dead workers, archive
reviewed orphans. The run itself is in `publications.publishing`.

`publication_submit()` answers every refusal the contract lists before anything is queued: a bad form, a bad bundle
(`bundle_invalid`, `bundle_too_large`), a space outside the token's scope, a missing space or parent, the token's
rate limit and a reused Idempotency-Key. What it queues is a publication row, the bundle, and one task, in one
transaction: a worker never sees one without the others.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from confluence import errors as cf
from confluence.client import ConfluenceClient
from imports.models import ImportRecord
from imports.services import RequestMeta, portal_error_from
from imports.validation import printable
from portal.errors import PortalError
from portal.sweeps import sweep_ensure, sweep_round
from publications.bundle import BundleLimits, read_bundle
from publications.models import Publication, PublicationBundle, PublicationPage, PublishedPage
from publications.plan import plan_bundle
from publications.validation import PublicationRequest, parse_publication_request
from tokens.confluence import client_for
from tokens.models import Instance, Token

logger = logging.getLogger(__name__)

RATE_WINDOW = dt.timedelta(minutes=1)
State = Publication.State


def bundle_limits() -> BundleLimits:
    return BundleLimits(
        max_files=settings.PUBLICATION_MAX_FILES,
        max_total_bytes=settings.PUBLICATION_MAX_TOTAL_BYTES,
        max_file_bytes=settings.PUBLICATION_MAX_FILE_BYTES,
        max_ratio=settings.PUBLICATION_MAX_RATIO,
    )


def confluence_failure(error: cf.ConfluenceError, record: ImportRecord | None = None) -> PortalError:
    """Confluence's answer in the API's codes: the import's mapping, one home for that rule."""
    return portal_error_from(error, record=record if record is not None else ImportRecord())


@dataclass(frozen=True)
class SubmitOutcome:
    publication: Publication
    replayed: bool


# --------------------------------------------------------------------------------------------- submit


def publication_submit(
    *,
    token: Token,
    meta: RequestMeta,
    read_form: Callable[[], tuple[Mapping[str, list[str]], list[str], IO[bytes] | None, int | None]],
) -> SubmitOutcome:
    """``read_form`` parses the multipart body into (text fields, file part names, the bundle, its size); it is
    called only once the cheap refusals (rate limit, Idempotency-Key, Content-Length) have passed."""
    _check_rate(token, locked=False)
    key = meta.idempotency_key
    if key is not None and not (1 <= len(key) <= 255 and key.isprintable()):
        raise PortalError(
            "Idempotency-Key must be 1 to 255 printable characters", code="invalid_request", field="Idempotency-Key"
        )
    limit = settings.PUBLICATION_MAX_UPLOAD_BYTES
    if meta.content_length is not None and meta.content_length > limit + 64 * 1024:
        raise _too_large(f"the request body is {meta.content_length} bytes; a bundle may be at most {limit} bytes")
    fields, file_names, bundle, bundle_size = read_form()
    request = parse_publication_request(fields, file_names)
    if bundle is None:
        raise PortalError("bundle is required: a .zip or .tar.gz file part", code="invalid_request", field="bundle")
    if bundle_size is not None and bundle_size > limit:
        raise _too_large(f"the bundle is {bundle_size} bytes; the limit is {limit} (PUBLICATION_MAX_UPLOAD_BYTES)")
    data = bundle.read(limit + 1)
    if len(data) > limit:
        raise _too_large(f"the bundle is over {limit} bytes (PUBLICATION_MAX_UPLOAD_BYTES)")
    files = read_bundle(data, limits=bundle_limits())  # BundleError is the contract's 400 / 413 already
    plan_bundle(files)  # non-UTF-8 Markdown, a cycle of declared parents, two pages of one title: refused now
    digest = hashlib.sha256(data).hexdigest()
    request_hash = request.request_hash(digest)

    if key:
        replay = _replay(token=token, key=key, request_hash=request_hash)
        if replay is not None:
            return SubmitOutcome(replay, replayed=True)

    space_key, space_id, root_parent_id = _resolve_space(token=token, request=request)

    publication = Publication(
        instance_id=token.instance_id,
        token=token,
        token_hint=token.hint,
        request_id=meta.request_id[:128],
        client_ip=meta.client_ip,
        user_agent=printable(meta.user_agent)[:300],
        idempotency_key=key or "",
        request_hash=request_hash,
        space_key=space_key,
        space_id=space_id,
        parent_id=request.parent_id or "",
        root_parent_id=root_parent_id,
        overwrite=request.overwrite,
        source_ref=request.source_ref,
        source_prefix=request.source_prefix,
        version_message=request.version_message,
        dry_run=request.dry_run,
        bundle_bytes=len(data),
        bundle_sha256=digest,
        files=len(files.files),
    )
    try:
        with transaction.atomic():
            _check_rate(token, locked=True)
            publication.save(force_insert=True)
            PublicationBundle.objects.create(publication=publication, data=data)
            publication_enqueue(publication=publication)
    except IntegrityError:
        # Another request with the same key won the insert while we talked to Confluence.
        replay = _replay(token=token, key=key, request_hash=request_hash) if key else None
        if replay is None:
            raise
        return SubmitOutcome(replay, replayed=True)
    logger.info("publication %s queued: %d files for %s", publication.pk, publication.files, space_key)
    return SubmitOutcome(publication, replayed=False)


def publication_enqueue(*, publication: Publication) -> None:
    """Queue the task that runs the publication, and the sweep that watches it; inside the caller's transaction, so
    all or none exist."""
    from publications.tasks import publication_run_task

    result = publication_run_task.enqueue(str(publication.pk))
    Publication.objects.filter(pk=publication.pk).update(task_id=str(result.id))
    publication.task_id = str(result.id)
    publication_sweep_ensure()


def _too_large(message: str) -> PortalError:
    return PortalError(message, code="bundle_too_large", status=413, field="bundle")


def _check_rate(token: Token, *, locked: bool) -> None:
    """At most PUBLICATION_RATE_LIMIT_PER_MINUTE publications per token and minute, counted from the table itself.

    Checked once without a lock (to refuse early, before the bundle is read) and once under the token's row lock
    with the insert, so concurrent requests cannot both take the last place.
    """
    now = timezone.now()
    if locked:
        Token.objects.select_for_update().filter(pk=token.pk).values_list("pk", flat=True).get()
    limit = settings.PUBLICATION_RATE_LIMIT_PER_MINUTE
    at_limit = (
        Publication.objects.filter(token=token, created_at__gt=now - RATE_WINDOW)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[limit - 1 : limit]
    ).first()
    if at_limit is not None:
        retry_after = max(1, math.ceil((at_limit + RATE_WINDOW - now).total_seconds()))
        raise PortalError(
            f"at most {limit} publications a minute per token",
            code="rate_limited",
            status=429,
            headers={"Retry-After": str(retry_after)},
        )


def _replay(*, token: Token, key: str, request_hash: str) -> Publication | None:
    existing = Publication.objects.filter(token=token, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.created_at < timezone.now() - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS):
        # Past its promise: the key is free again, and the old publication keeps its history without it.
        Publication.objects.filter(pk=existing.pk).update(idempotency_key="")
        return None
    if existing.request_hash != request_hash:
        raise PortalError(
            "this Idempotency-Key was used with a different request body",
            code="idempotency_conflict",
            status=409,
            field="Idempotency-Key",
        )
    return existing


def _space_forbidden(space_key: str) -> PortalError:
    return PortalError(
        f"this token may not publish into space {space_key}", code="space_forbidden", status=403, field="spaceId"
    )


def _resolve_space(*, token: Token, request: PublicationRequest) -> tuple[str, str, str]:
    """The space's key and id and the page the tree goes under, or the contract's refusal."""
    if not request.space_is_id and not token.allows_space(request.space):
        raise _space_forbidden(request.space)
    client: ConfluenceClient = client_for(token.instance)
    try:
        try:
            space = client.space(request.space)
        except cf.NotFound as error:
            raise PortalError(
                f"Confluence has no space {request.space} that the instance's account can see",
                code="space_not_found", status=404, field="spaceId",
            ) from error
        if request.space_is_id and not token.allows_space(space.key):
            raise _space_forbidden(space.key)
        if request.parent_id is None:
            return space.key, space.id, space.homepage_id or ""
        try:
            parent = client.page(request.parent_id)
        except cf.NotFound:
            parent = None
        if parent is None or parent.space_id != space.id or parent.status != "current":
            raise PortalError(
                f"Confluence has no page {request.parent_id} in space {space.key} that the instance's account can see",
                code="parent_not_found", status=404, field="parentId",
            )
        return space.key, space.id, parent.id
    except cf.ConfluenceError as error:
        raise confluence_failure(error) from error


# --------------------------------------------------------------------------------------- recovery


def publication_sweep_ensure() -> bool:
    """Make sure the publications' sweep is waiting."""
    from publications.tasks import publications_sweep_task

    return sweep_ensure(task=publications_sweep_task, stale_after=settings.PUBLICATION_STALE_AFTER_SECONDS)


def publications_sweep() -> tuple[int, int]:
    """One round of the sweep task: stale publications resumed or failed; the sweep comes back while any publication
    is queued or running (a queued one will run, and its worker may die too)."""

    def resume() -> tuple[int, int]:
        requeued, failed = publications_resume_stale()
        if requeued or failed:
            logger.warning("stale publications: %d queued again, %d failed", requeued, failed)
        return requeued, failed

    return sweep_round(
        sweep=resume,
        in_flight=Publication.objects.filter(state__in=[State.QUEUED, State.RUNNING]).exists,
        ensure=publication_sweep_ensure,
    )


def publications_resume_stale(*, older_than: dt.timedelta | None = None) -> tuple[int, int]:
    """Publications whose worker stopped reporting: queued again, or failed after PUBLICATION_MAX_ATTEMPTS runs.

    Returns (requeued, failed). Each change is one conditional UPDATE on the heartbeat it read, so any number of
    workers may sweep at once and each stale publication is taken by one of them.
    """
    age = older_than or dt.timedelta(seconds=settings.PUBLICATION_STALE_AFTER_SECONDS)
    now = timezone.now()
    requeued = failed = 0
    stale = Publication.objects.filter(
        Q(heartbeat_at__lt=now - age) | Q(heartbeat_at__isnull=True, started_at__lt=now - age), state=State.RUNNING
    ).values_list("pk", "heartbeat_at", "attempts")
    for pk, heartbeat_at, attempts in list(stale):
        same = Publication.objects.filter(pk=pk, state=State.RUNNING, heartbeat_at=heartbeat_at)
        if attempts >= settings.PUBLICATION_MAX_ATTEMPTS:
            done = PublicationPage.objects.filter(publication_id=pk, finished_at__isnull=False)
            changed = same.update(
                state=State.FAILED,
                finished_at=now,
                error_code="worker_lost",
                error_message=(
                    f"the worker running this publication stopped {attempts} times; {done.count()} page(s) were "
                    "done and are listed, the others were not published"
                ),
            )
            if changed:
                PublicationBundle.objects.filter(publication_id=pk).delete()
                failed += 1
            continue
        with transaction.atomic():
            if same.update(state=State.QUEUED, heartbeat_at=None, worker=""):
                publication_enqueue(publication=Publication.objects.get(pk=pk))
                requeued += 1
        logger.warning("publication %s: its worker stopped reporting; queued again", pk)
    return requeued, failed


# ----------------------------------------------------------------------------------------- orphans


@dataclass(frozen=True)
class ArchiveOutcome:
    archived: list[PublishedPage]
    refused: list[tuple[PublishedPage, str]]


def published_pages_archive(*, instance: Instance, pages: list[PublishedPage]) -> ArchiveOutcome:
    """Archive reviewed orphans in Confluence (v1 `POST /content/archive`); each refusal is reported, not raised."""
    client = client_for(instance)
    archived: list[PublishedPage] = []
    refused: list[tuple[PublishedPage, str]] = []
    for page in pages:
        try:
            client.archive_page(page.page_id)
        except cf.ConfluenceError as error:
            refused.append((page, confluence_failure(error).message))
            continue
        PublishedPage.objects.filter(pk=page.pk).update(archived_at=timezone.now())
        archived.append(page)
    return ArchiveOutcome(archived, refused)

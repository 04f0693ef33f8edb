"""The import: Markdown in, a Confluence page out, and one audit record for every request.

`import_submit()` is the only entry point. It writes the audit record as `received` in its own short
transaction before anything else happens, and finishes it in a `finally`: no Confluence failure, validation
error or bug can leave a request without its record, and no rollback can take the record with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import posixpath
import time
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from confluence import errors as cf
from confluence.client import ConfluenceClient, Page, Property
from confluence.converter import AttachmentLink, LinkTarget, convert
from confluence.converter.front_matter import APPEARANCE_PROPERTIES
from imports.models import AuditDay, IdempotencyKey, ImportRecord
from imports.selectors import nth_newest_counted_import
from imports.serializers import ImportResultSerializer
from imports.validation import (
    ATTACHMENTS,
    ImportRequest,
    InvalidRequest,
    parse_attachment_files,
    parse_import_form,
    parse_import_request,
    parse_labels,
    partial_fields,
    printable,
)
from portal.api import error_body
from portal.attachments import AttachmentCounts, PageAttachment, attachment_names, attachments_listed, attachments_sync
from portal.conversion import converter_options
from portal.errors import PortalError
from tokens.confluence import client_for
from tokens.models import Token

logger = logging.getLogger(__name__)

# The page's content property that says where its content came from, and what it holds.
PROPERTY_KEY = "md-confluence-portal.import"
RATE_WINDOW = dt.timedelta(minutes=1)
CLOCK_SKEW = dt.timedelta(minutes=1)
Status = ImportRecord.Status


@dataclass(frozen=True)
class RequestMeta:
    request_id: str
    client_ip: str | None
    user_agent: str = ""
    content_length: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class UnreadableBody:
    """The view could not read the request body (too large to read, not JSON). The import is refused with
    `error`, and recorded like every other refusal."""

    error: PortalError


@dataclass(frozen=True)
class ImportForm:
    """A multipart import: its text fields (name -> values, as sent) and its file parts (field name, file name as
    sent, content). The files are the page's attachments, named as the Markdown refers to them."""

    fields: dict[str, list[str]]
    files: list[tuple[str, str, bytes]]


@dataclass
class ImportOutcome:
    http_status: int
    body: dict[str, Any]
    record: ImportRecord
    headers: dict[str, str] = field(default_factory=dict)


def page_hash(title: str, body: str, appearance: str | None = None) -> str:
    """What makes two imports the same page: title, storage body and the width the front matter asks for
    (labels are added, never versioned). A page without a width keeps the hash it always had."""
    digest = hashlib.sha256(title.encode() + b"\0" + body.encode("utf-8", "surrogatepass"))
    if appearance is not None:
        digest.update(b"\0appearance=" + appearance.encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- entry


def import_submit(*, token: Token, meta: RequestMeta, data: Any) -> ImportOutcome:
    """Run one import request: ``data`` is the parsed JSON body, an ``ImportForm`` (multipart, with attachments), or
    ``UnreadableBody`` when there is none to parse.

    Raises PortalError for every refusal (after recording it).
    """
    started = time.monotonic()
    record, retry_after = _record_received(token=token, meta=meta)
    claimed: IdempotencyKey | None = None
    try:
        if retry_after is not None:
            raise PortalError(
                f"at most {settings.IMPORT_RATE_LIMIT_PER_MINUTE} imports a minute per token",
                code="rate_limited",
                status=429,
                headers={"Retry-After": str(retry_after)},
            )
        if meta.idempotency_key is not None and not (
            1 <= len(meta.idempotency_key) <= 255 and meta.idempotency_key.isprintable()
        ):
            raise PortalError(
                "Idempotency-Key must be 1 to 255 printable characters", code="invalid_request", field="Idempotency-Key"
            )
        request, files = _read_request(record=record, data=data)
        if meta.idempotency_key:
            claim = _claim_idempotency_key(token=token, key=meta.idempotency_key, request=request, record=record)
            if isinstance(claim, ImportRecord):
                record.status = Status.REPLAYED
                record.http_status = claim.http_status
                record.operation = claim.operation
                record.page_id, record.page_version, record.page_url = claim.page_id, claim.page_version, claim.page_url
                record.response_body = claim.response_body
                return ImportOutcome(claim.http_status or 200, claim.response_body or {}, record)
            claimed = claim
        _import(token=token, request=request, record=record, files=files)
        record.status = Status.SUCCEEDED
        record.http_status = 201 if record.operation == ImportRecord.Operation.CREATED else 200
        # Rendered by the serializer that documents it, once: what is sent now is what a replay sends.
        record.response_body = ImportResultSerializer.render(record)
        return ImportOutcome(record.http_status, record.response_body, record)
    except PortalError as error:
        record.status = Status.FAILED if error.status >= 500 else Status.REJECTED
        record.http_status = error.status
        record.error_code = error.code
        record.error_message = error.message[:500]
        record.response_body = error_body(meta.request_id, error.code, error.message, error.field, **error.extra)
        # A failure that a retry may cure (Confluence down, rate limits) releases the key, so the client's
        # retry with the same key runs the import again instead of replaying the failure.
        if claimed is not None and (error.status >= 500 or error.status == 429):
            IdempotencyKey.objects.filter(pk=claimed.pk).delete()
        raise
    except Exception:
        record.status = Status.FAILED
        record.http_status = 500
        record.error_code = "internal_error"
        record.error_message = "unexpected error in the portal; see the server log for this request id"
        if claimed is not None:
            IdempotencyKey.objects.filter(pk=claimed.pk).delete()
        raise
    finally:
        record.finished_at = timezone.now()
        record.duration_ms = int((time.monotonic() - started) * 1000)
        record.save()


# ------------------------------------------------------------------------------------- the record


def _record_received(*, token: Token, meta: RequestMeta) -> tuple[ImportRecord, int | None]:
    """Create the `received` record, counting the token's imports of the last minute under its row lock.

    Returns the record and, when the token is over its rate limit, the seconds until it may import again.

    The count comes from the audit log itself, so the limit is exact across any number of processes and
    needs no shared cache; the row lock serialises concurrent requests of one token only.
    """
    now = timezone.now()
    # durable: Django checks that no outer transaction could roll the record back with it.
    with transaction.atomic(durable=True):
        # SQLite has no row locks and needs none here: its transactions begin IMMEDIATE (portal/settings.py), so
        # this one already holds the database's single write lock.
        if connection.features.has_select_for_update:
            Token.objects.select_for_update().filter(pk=token.pk).values_list("pk", flat=True).get()
        # The limit-th newest import of the window, if there is one: the token is at its limit, and may go on
        # once that import leaves the window.
        at_limit = nth_newest_counted_import(
            token_id=token.pk, since=now - RATE_WINDOW, n=settings.IMPORT_RATE_LIMIT_PER_MINUTE
        )
        record = ImportRecord(
            request_id=meta.request_id,
            received_at=now,
            instance_id=token.instance_id,
            token=token,
            token_hint=token.hint,
            client_ip=meta.client_ip,
            user_agent=printable(meta.user_agent)[:300],
            idempotency_key=printable(meta.idempotency_key or "")[:255],
        )
        retry_after = None
        if at_limit is not None:
            # Marked now, inside the lock, so the next request's count already leaves this one out.
            record.error_code = "rate_limited"
            retry_after = max(1, math.ceil((at_limit + RATE_WINDOW - now).total_seconds()))
        record.save(force_insert=True)
    return record, retry_after


def _read_request(*, record: ImportRecord, data: Any) -> tuple[ImportRequest, dict[str, bytes] | None]:
    """The checked request, and the files of a multipart one by path (None for a JSON request)."""
    if isinstance(data, UnreadableBody):
        raise data.error
    files: dict[str, bytes] | None = None
    if isinstance(data, ImportForm):
        form = data
        first = {name: values[0] for name, values in form.fields.items() if values}
        for name, value in partial_fields(first).items():
            setattr(record, name, value)
        data = parse_import_form(form.fields, [name for name, _, _ in form.files])
        files = parse_attachment_files(
            [(filename, content) for _, filename, content in form.files],
            max_total_bytes=settings.IMPORT_MAX_ATTACHMENT_BYTES,
        )
    for name, value in partial_fields(data).items():
        setattr(record, name, value)
    request = parse_import_request(data, max_content_bytes=settings.IMPORT_MAX_CONTENT_BYTES)
    if files is not None:
        # A retry with the same key must carry the same files too: their names and contents join the hash.
        digest = hashlib.sha256(request.request_hash.encode())
        for path in sorted(files):
            digest.update(b"\0" + path.encode() + b"\0" + hashlib.sha256(files[path]).hexdigest().encode())
        request = replace(request, request_hash=digest.hexdigest())
    record.space_key = "" if request.space_is_id else request.space
    record.space_id = request.space if request.space_is_id else ""
    record.title = request.title
    record.parent_id = request.parent_id or ""
    record.source_ref = request.source_ref
    record.content_bytes = request.content_bytes
    record.content_sha256 = request.content_sha256
    return request, files


# ------------------------------------------------------------------------------------ idempotency


def _claim_idempotency_key(
    *, token: Token, key: str, request: ImportRequest, record: ImportRecord
) -> IdempotencyKey | ImportRecord:
    """Claim the key by inserting it (the unique constraint decides), or say what the first request did.

    Returns the new claim, or the finished record of the first request to replay. Raises 409s for a key
    reused with another body, or one whose first request is still running.
    """
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    token=token, key=key, request_hash=request.request_hash, record=record
                )
        except IntegrityError:
            existing = IdempotencyKey.objects.select_related("record").filter(token=token, key=key).first()
        if existing is None:
            continue  # released between our insert and our read: try again
        expired = existing.created_at < timezone.now() - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        if expired or existing.record.status == Status.ABANDONED:
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_hash != request.request_hash:
            raise PortalError(
                "this Idempotency-Key was used with a different request body",
                code="idempotency_conflict",
                status=409,
                field="Idempotency-Key",
            )
        if existing.record.status == Status.RECEIVED:
            raise PortalError(
                "the first request with this Idempotency-Key is still running; retry shortly",
                code="import_in_progress",
                status=409,
                headers={"Retry-After": "2"},
            )
        return existing.record
    raise PortalError(
        "this Idempotency-Key is being claimed by another request; retry shortly",
        code="import_in_progress",
        status=409,
        headers={"Retry-After": "2"},
    )


# ----------------------------------------------------------------------------------- the import


class _UploadedFiles:
    """The resolver of a multipart import: a relative link or image that names one of the uploaded files becomes that
    attachment (named as publications name them: the base name, unless two files share it); anything else is left as
    the converter writes it without a resolver, so a file that was not sent is the plain attachment link it always
    was."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.names = attachment_names("", sorted(files))
        self.used: list[str] = []

    def _find(self, path: str) -> str | None:
        joined = posixpath.normpath(unicodedata.normalize("NFC", path).lstrip("/"))
        if joined not in self.files:
            return None
        if joined not in self.used:
            self.used.append(joined)
        return self.names[joined]

    def link(self, href: str) -> LinkTarget | None:
        path = unquote(href.split("#", 1)[0].split("?", 1)[0])
        name = self._find(path) if path else None
        return AttachmentLink(name) if name is not None else None

    def image(self, src: str) -> str | None:
        return self._find(src) or posixpath.basename(src)

    def wanted_anchors(self) -> Collection[str]:
        return ()

    def name_of(self, path: str) -> str:
        """The attachment name a reference to ``path`` (as the converter lists it) is written with."""
        joined = posixpath.normpath(unicodedata.normalize("NFC", path).lstrip("/"))
        return self.names.get(joined) or posixpath.basename(path)


def _import(*, token: Token, request: ImportRequest, record: ImportRecord, files: dict[str, bytes] | None) -> None:
    if not request.space_is_id and not token.allows_space(request.space):
        raise _space_forbidden(request.space)

    options = converter_options()
    uploaded = _UploadedFiles(files) if files is not None else None
    converted = convert(
        request.content, title=request.title, math=options.math, diagrams=options.diagrams, resolve=uploaded
    )
    wanted: list[PageAttachment] | None = None
    keep: frozenset[str] = frozenset()
    if uploaded is not None:
        unreferenced = sorted(set(uploaded.files) - set(uploaded.used))
        if unreferenced:
            raise InvalidRequest(
                f"attachment {unreferenced[0]!r} is not referenced by the Markdown (as ![…]({unreferenced[0]}) or "
                f"[…]({unreferenced[0]})); send only the files the page uses",
                field=ATTACHMENTS,
            )
        wanted = [PageAttachment.of(uploaded.names[path], uploaded.files[path]) for path in uploaded.used]
        # Files the page still refers to but that were not sent this time stay attached.
        keep = frozenset(uploaded.name_of(path) for path in converted.attachments)
    if converted.generated:
        wanted = list(wanted or [])
        taken = {item.name.casefold() for item in wanted}
        wanted += [PageAttachment.generated(item) for item in converted.generated if item.name.casefold() not in taken]
        if uploaded is None:
            keep = frozenset(posixpath.basename(path) for path in converted.attachments)
    labels = list(request.labels)
    if converted.labels:
        labels += [label for label in parse_labels(list(converted.labels), source="front-matter labels") if label not in labels]

    client = client_for(token.instance)
    counts = AttachmentCounts()
    try:
        space = client.space(request.space)
        record.space_key, record.space_id = space.key, space.id
        if request.space_is_id and not token.allows_space(space.key):
            raise _space_forbidden(space.key)
        digest = page_hash(request.title, converted.body, converted.appearance)
        record.page_hash = digest
        page, operation = _write_page(client, request=request, space_id=space.id, body=converted.body, digest=digest,
                                      record=record, token=token, labels=labels)
        if converted.appearance is not None and operation != ImportRecord.Operation.UNCHANGED:
            _apply_appearance(client, page.id, converted.appearance,
                              created=operation == ImportRecord.Operation.CREATED)
        # A JSON import without rendered diagrams leaves the page's attachments as they are (and costs no request).
        if wanted is not None:
            created = operation == ImportRecord.Operation.CREATED
            known = {} if created else attachments_listed(client=client, page_id=page.id)
            attachments_sync(client=client, page_id=page.id, wanted=wanted, known=known, listed=True, counts=counts,
                             keep=keep)
    except cf.ConfluenceError as error:
        raise portal_error_from(error, record=record) from error

    record.operation = operation
    record.attachments = counts.as_dict()
    _note_page(record, page)


def _write_page(
    client: ConfluenceClient,
    *,
    request: ImportRequest,
    space_id: str,
    body: str,
    digest: str,
    record: ImportRecord,
    token: Token,
    labels: list[str],
) -> tuple[Page, str]:
    provenance = {
        "importId": str(record.pk),
        "sourceRef": request.source_ref,
        "tokenHint": token.hint,
        "contentHash": digest,
        "contentSha256": request.content_sha256,
        "importedAt": timezone.now().isoformat(),
    }
    # No look-up before a plain create: Confluence refuses a duplicate title itself, saving a call per import.
    existing = client.page_by_title(space_id, request.title) if request.overwrite else None
    if existing is None:
        page = _create(client, request=request, space_id=space_id, body=body)
        _note_page(record, page)
        client.set_property(page.id, PROPERTY_KEY, provenance, current=None)
        client.add_labels(page.id, labels)
        return page, ImportRecord.Operation.CREATED

    current: Property | None = client.get_property(existing.id, PROPERTY_KEY)
    if current is not None and isinstance(current.value, dict) and current.value.get("contentHash") == digest:
        client.add_labels(existing.id, labels)
        return existing, ImportRecord.Operation.UNCHANGED

    page = _update(client, existing, request=request, body=body)
    _note_page(record, page)
    client.set_property(page.id, PROPERTY_KEY, provenance, current=current)
    client.add_labels(page.id, labels)
    return page, ImportRecord.Operation.UPDATED


def _apply_appearance(client: ConfluenceClient, page_id: str, appearance: str, *, created: bool) -> None:
    """The page width the front matter asks for (``layout: wide``), in the content properties Confluence keeps it
    in: one for the editor's draft, one for the published page. A page just created has neither."""
    for key in APPEARANCE_PROPERTIES:
        current = None if created else client.get_property(page_id, key)
        if current is None or current.value != appearance:
            client.set_property(page_id, key, appearance, current=current)


def _note_page(record: ImportRecord, page: Page) -> None:
    # Kept as soon as the page is written: should the property or label call then fail, the audit record of
    # the failed import still says which page exists.
    record.page_id, record.page_version, record.page_url = page.id, page.version, page.web_url or ""


def _create(client: ConfluenceClient, *, request: ImportRequest, space_id: str, body: str) -> Page:
    started = timezone.now()

    def made_by_this_attempt(page: Page) -> bool:
        # After an ambiguous failure (the answer was lost) the client finds the page by title and asks whether
        # it is ours. Real Confluence rewrites storage bodies, so comparing bodies would miss; a first version
        # created since this attempt began (a minute's leeway for clock skew) is the page we created.
        return page.version == 1 and page.created_at is not None and page.created_at >= started - CLOCK_SKEW

    return client.create_page(
        space_id=space_id, title=request.title, body=body, parent_id=request.parent_id, marker=made_by_this_attempt
    )


def _update(client: ConfluenceClient, existing: Page, *, request: ImportRequest, body: str) -> Page:
    message = request.version_message or None
    try:
        return client.update_page(page_id=existing.id, title=request.title, body=body, version=existing.version + 1,
                                  message=message, parent_id=request.parent_id)
    except cf.VersionConflict:
        # Someone saved the page between our read and our write: write on top of their version, once.
        latest = client.page(existing.id)
        return client.update_page(page_id=existing.id, title=request.title, body=body, version=latest.version + 1,
                                  message=message, parent_id=request.parent_id)


def _space_forbidden(space_key: str) -> PortalError:
    return PortalError(
        f"this token may not import into space {space_key}", code="space_forbidden", status=403, field="spaceId"
    )


def portal_error_from(error: cf.ConfluenceError, *, record: ImportRecord) -> PortalError:
    """Confluence's answer, in the API's codes; Confluence's own words are kept on the record."""
    record.confluence_status = error.status
    record.confluence_message = (error.message or "")[:1000]
    headers = {"Retry-After": str(max(1, math.ceil(error.retry_after)))} if error.retry_after else {}
    if isinstance(error, cf.NotFound) and error.what in {"space", "parent"}:
        code = "space_not_found" if error.what == "space" else "parent_not_found"
        field_name = "spaceId" if error.what == "space" else "parentId"
        thing = "space" if error.what == "space" else "parent page"
        return PortalError(
            f"Confluence has no {thing} {record.space_key or record.space_id if error.what == 'space' else record.parent_id}"
            " that the instance's account can see",
            code=code, status=404, field=field_name,
        )
    if isinstance(error, cf.TitleExists):
        return PortalError(
            "a page with this title already exists in the space; send overwrite: true to update it",
            code="title_exists", status=409, field="pageTitle", extra={"pageId": error.page_id},
        )
    if isinstance(error, cf.AuthenticationFailed):
        return PortalError(
            "Confluence refused the instance's credentials or permissions; an administrator must check the "
            "instance's email and API token",
            code="confluence_auth_failed", status=502,
        )
    if isinstance(error, cf.RateLimited):
        return PortalError(
            "Confluence kept answering 429 (rate limited) after the portal's retries; try again later",
            code="confluence_rate_limited", status=503, headers=headers,
        )
    if isinstance(error, cf.Unavailable):
        return PortalError(
            f"Confluence is unavailable: {error.message}"[:300], code="confluence_unavailable", status=503, headers=headers
        )
    return PortalError(
        f"Confluence refused the request ({error.status}): {error.message}"[:500], code="confluence_rejected", status=502
    )


# ---------------------------------------------------------------------------------- maintenance


def imports_abandon_stale(*, older_than: dt.timedelta | None = None) -> int:
    """Mark records still `received` past the timeout as abandoned (their process died mid-import)."""
    age = older_than or dt.timedelta(seconds=settings.IMPORT_ABANDON_AFTER_SECONDS)
    now = timezone.now()
    return ImportRecord.objects.filter(status=Status.RECEIVED, received_at__lt=now - age).update(
        status=Status.ABANDONED,
        finished_at=now,
        error_code="abandoned",
        error_message=f"still running after {int(age.total_seconds())} s: the portal process likely stopped",
    )


def idempotency_keys_expire() -> int:
    cutoff = timezone.now() - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def audit_rollup_forget(*, days: list[dt.date] | None = None) -> int:
    """Drop the stored days of the audit log's rollup (all, or these), so the next read aggregates them again from
    the records: after a backfill into past days. Returns how many were dropped."""
    rows = AuditDay.objects.all()
    if days is not None:
        rows = rows.filter(day__in=days)
    deleted, _ = rows.delete()
    return deleted

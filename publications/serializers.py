"""The shapes of the publications API: what /api/schema/ documents, and how a publication is rendered."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from imports.serializers import AttachmentCountsSerializer
from publications.models import Publication, PublicationPage


class PublicationRequestSerializer(serializers.Serializer):
    bundle = serializers.FileField(help_text="A .zip or .tar.gz/.tgz archive of Markdown files and the files they use.")
    spaceId = serializers.CharField(help_text="The space key (DOCS) or the numeric space id.")
    parentId = serializers.CharField(
        required=False, help_text="The page the tree's root pages go under; default: the space homepage."
    )
    overwrite = serializers.ChoiceField(
        choices=Publication.Overwrite.values, required=False, default="false",
        help_text="false: a page of the same title not published from this tree fails with title_exists; true: adopt "
        "and update it; force: also overwrite pages edited in Confluence since the portal wrote them (else drifted).",
    )
    sourceRef = serializers.CharField(
        required=False, max_length=500,
        help_text="Provenance (repo@commit). Orphans are looked for among pages published from the same prefix "
        "(the text before @); without one, among pages published under the same root without a sourceRef.",
    )
    versionMessage = serializers.CharField(required=False, max_length=500, help_text="Version comment of every page write.")
    dryRun = serializers.ChoiceField(
        choices=["true", "false"], required=False, default="false",
        help_text="true: compute what would happen to each page (with a diff of its storage body); write nothing.",
    )


class PublicationAcceptedSerializer(serializers.Serializer):
    publicationId = serializers.UUIDField()
    state = serializers.ChoiceField(choices=Publication.State.values)
    dryRun = serializers.BooleanField()
    url = serializers.URLField()


class _ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class _ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class PublicationPageSerializer(serializers.Serializer):
    path = serializers.CharField()
    title = serializers.CharField()
    pageId = serializers.CharField(allow_null=True)
    url = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=PublicationPage.Status.values)
    action = serializers.ChoiceField(choices=PublicationPage.Action.values, required=False, help_text="Dry runs only.")
    error = _ErrorSerializer(required=False)
    attachments = AttachmentCountsSerializer()
    diff = serializers.CharField(required=False, help_text="Dry runs only, for pages that would change.")
    warnings = serializers.ListField(child=serializers.CharField())


class _OrphanSerializer(serializers.Serializer):
    pageId = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()
    path = serializers.CharField()


class _BrokenLinkSerializer(serializers.Serializer):
    path = serializers.CharField()
    href = serializers.CharField()


class PublicationSerializer(serializers.Serializer):
    publicationId = serializers.UUIDField()
    state = serializers.ChoiceField(choices=Publication.State.values)
    dryRun = serializers.BooleanField()
    spaceId = serializers.CharField()
    spaceKey = serializers.CharField()
    sourceRef = serializers.CharField()
    createdAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField(allow_null=True)
    finishedAt = serializers.DateTimeField(allow_null=True)
    progress = _ProgressSerializer()
    pages = PublicationPageSerializer(many=True)
    orphans = _OrphanSerializer(many=True)
    brokenLinks = _BrokenLinkSerializer(many=True)
    error = _ErrorSerializer(required=False)


class PublicationSummarySerializer(serializers.Serializer):
    publicationId = serializers.UUIDField()
    state = serializers.ChoiceField(choices=Publication.State.values)
    dryRun = serializers.BooleanField()
    spaceId = serializers.CharField()
    spaceKey = serializers.CharField()
    sourceRef = serializers.CharField()
    createdAt = serializers.DateTimeField()
    finishedAt = serializers.DateTimeField(allow_null=True)
    progress = _ProgressSerializer()
    url = serializers.URLField()


class PublicationListSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next (older) page, or null on the last page.")
    previous = serializers.URLField(allow_null=True)
    results = PublicationSummarySerializer(many=True)


def _time(value) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value else None


def publication_url(request, publication: Publication) -> str:
    return request.build_absolute_uri(reverse("publication-detail", args=[publication.pk]))


def accepted_body(request, publication: Publication) -> dict[str, Any]:
    return {
        "publicationId": str(publication.pk),
        "state": publication.state,
        "dryRun": publication.dry_run,
        "url": publication_url(request, publication),
    }


def summary_body(request, publication: Publication) -> dict[str, Any]:
    return {
        "publicationId": str(publication.pk),
        "state": publication.state,
        "dryRun": publication.dry_run,
        "spaceId": publication.space_id,
        "spaceKey": publication.space_key,
        "sourceRef": publication.source_ref,
        "createdAt": _time(publication.created_at),
        "finishedAt": _time(publication.finished_at),
        "progress": {"done": publication.done, "total": publication.total},
        "url": publication_url(request, publication),
    }


def page_body(page: PublicationPage, *, dry_run: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "path": page.path or page.key,
        "title": page.title,
        "pageId": page.page_id or None,
        "url": page.page_url or None,
        "status": page.status,
    }
    if dry_run and page.action:
        body["action"] = page.action
    if page.error_code:
        body["error"] = {"code": page.error_code, "message": page.error_message}
    body["attachments"] = {
        "uploaded": page.attachments_uploaded, "unchanged": page.attachments_unchanged,
        "removed": page.attachments_removed,
    }
    if dry_run and page.diff:
        body["diff"] = page.diff
    body["warnings"] = list(page.warnings or [])
    return body


def publication_body(publication: Publication) -> dict[str, Any]:
    body: dict[str, Any] = {
        "publicationId": str(publication.pk),
        "state": publication.state,
        "dryRun": publication.dry_run,
        "spaceId": publication.space_id,
        "spaceKey": publication.space_key,
        "sourceRef": publication.source_ref,
        "createdAt": _time(publication.created_at),
        "startedAt": _time(publication.started_at),
        "finishedAt": _time(publication.finished_at),
        "progress": {"done": publication.done, "total": publication.total},
        "pages": [page_body(page, dry_run=publication.dry_run) for page in publication.pages.order_by("order")],
        "orphans": list(publication.orphans or []),
        "brokenLinks": list(publication.broken_links or []),
    }
    if publication.error_code:
        body["error"] = {"code": publication.error_code, "message": publication.error_message}
    return body

"""The shapes of the publications API: each serializer both documents an answer in /api/schema/ and renders it.

A field that is only present in some answers (`error` when something failed, `action` and `diff` in a dry run) is
declared `required=False` for the schema and left out of the rendered body by its own field class.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers
from rest_framework.fields import SkipField

from imports.serializers import AttachmentCountsSerializer
from portal.api import AnswerSerializer
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


class _DetailUrlField(serializers.URLField):
    """The absolute URL of the publication itself (needs the request in the serializer's context)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", **kwargs)

    def to_representation(self, publication: Publication) -> str:
        return self.context["request"].build_absolute_uri(reverse("publication-detail", args=[publication.pk]))


# Why a page or a publication failed; present only when it did. (Comments, not docstrings, on the serializers
# below: drf-spectacular would publish a docstring as the component's description.)
class _ErrorSerializer(AnswerSerializer):
    code = serializers.CharField(source="error_code")
    message = serializers.CharField(source="error_message")

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", required=False, **kwargs)

    def get_attribute(self, instance):
        if not instance.error_code:
            raise SkipField
        return instance


class _ProgressSerializer(AnswerSerializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", **kwargs)


# The 202 answer to a POST, and what a replay with the same Idempotency-Key answers (the publication as it is now).
class PublicationAcceptedSerializer(serializers.Serializer):
    publicationId = serializers.UUIDField(source="pk")
    state = serializers.ChoiceField(choices=Publication.State.values)
    dryRun = serializers.BooleanField(source="dry_run")
    url = _DetailUrlField()


class PublicationPageSerializer(AnswerSerializer):
    path = serializers.CharField()
    title = serializers.CharField()
    pageId = serializers.CharField(allow_null=True)
    url = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=PublicationPage.Status.values)
    action = serializers.ChoiceField(choices=PublicationPage.Action.values, required=False, help_text="Dry runs only.")
    error = _ErrorSerializer()
    attachments = AttachmentCountsSerializer()
    diff = serializers.CharField(required=False, help_text="Dry runs only, for pages that would change.")
    warnings = serializers.ListField(child=serializers.CharField())

    def to_representation(self, page: PublicationPage) -> dict[str, Any]:
        # The fields above, in their order, written out: DRF's field-by-field loop made a 200-page publication's
        # answer twice as slow to render (tests/publications/test_answers.py holds this to the schema). A row's
        # publication is the one being rendered, cached by Django on rows read through publication.pages: no query.
        dry_run = page.publication.dry_run
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


class _OrphanSerializer(AnswerSerializer):
    pageId = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()
    path = serializers.CharField()


class _BrokenLinkSerializer(AnswerSerializer):
    path = serializers.CharField()
    href = serializers.CharField()


class _PagesField(serializers.ListSerializer):
    """A publication's pages in plan order (parents before children)."""

    def get_attribute(self, publication: Publication):
        return publication.pages.order_by("order")


# GET /api/v1/publications/{publicationId}
class PublicationSerializer(AnswerSerializer):
    publicationId = serializers.UUIDField(source="pk")
    state = serializers.ChoiceField(choices=Publication.State.values)
    dryRun = serializers.BooleanField(source="dry_run")
    spaceId = serializers.CharField(source="space_id")
    spaceKey = serializers.CharField(source="space_key")
    sourceRef = serializers.CharField(source="source_ref")
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    progress = _ProgressSerializer()
    pages = _PagesField(child=PublicationPageSerializer())
    orphans = _OrphanSerializer(many=True)
    brokenLinks = _BrokenLinkSerializer(source="broken_links", many=True)
    error = _ErrorSerializer()


# One publication in GET /api/v1/publications (needs the request in its context, for the url).
class PublicationSummarySerializer(serializers.Serializer):
    publicationId = serializers.UUIDField(source="pk")
    state = serializers.ChoiceField(choices=Publication.State.values)
    dryRun = serializers.BooleanField(source="dry_run")
    spaceId = serializers.CharField(source="space_id")
    spaceKey = serializers.CharField(source="space_key")
    sourceRef = serializers.CharField(source="source_ref")
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    progress = _ProgressSerializer()
    url = _DetailUrlField()


class PublicationListSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next (older) page, or null on the last page.")
    previous = serializers.URLField(allow_null=True)
    results = PublicationSummarySerializer(many=True)

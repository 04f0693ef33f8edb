"""The shapes of the import API, for the OpenAPI document and for rendering audit records.

Input is checked by `imports.validation` (strict types, the contract's error codes); these serializers
describe the same fields so that /api/schema/ tells clients exactly what to send and what comes back.
"""

from rest_framework import serializers

from imports.models import ImportRecord
from portal.api import AnswerSerializer


class ImportRequestSerializer(serializers.Serializer):
    spaceId = serializers.CharField(help_text="The space key (DOCS) or the numeric space id.")
    parentId = serializers.CharField(required=False, help_text="Id of the parent page; default: the space's homepage.")
    pageTitle = serializers.CharField(max_length=255, help_text="1 to 255 characters after trimming.")
    content = serializers.CharField(help_text="Markdown; not empty; at most IMPORT_MAX_CONTENT_BYTES of UTF-8.")
    overwrite = serializers.BooleanField(
        required=False, default=False, help_text="Update the page when one with this title exists (else 409)."
    )
    labels = serializers.ListField(child=serializers.CharField(), required=False)
    sourceRef = serializers.CharField(required=False, max_length=500, help_text="Provenance: a commit, a file path.")
    versionMessage = serializers.CharField(required=False, max_length=500, help_text="Confluence's version comment.")


class ImportFormSerializer(serializers.Serializer):
    """The same request as multipart/form-data, with the page's files: every field a text field, plus file parts."""

    spaceId = serializers.CharField(help_text="The space key (DOCS) or the numeric space id.")
    parentId = serializers.CharField(required=False, help_text="Id of the parent page; default: the space's homepage.")
    pageTitle = serializers.CharField(max_length=255, help_text="1 to 255 characters after trimming.")
    content = serializers.CharField(help_text="Markdown; not empty; at most IMPORT_MAX_CONTENT_BYTES of UTF-8.")
    overwrite = serializers.ChoiceField(
        choices=["true", "false"], required=False, default="false",
        help_text="Update the page when one with this title exists (else 409).",
    )
    labels = serializers.CharField(
        required=False,
        help_text='A JSON array of strings (["a","b"]), or one label per labels field (the field repeated).',
    )
    sourceRef = serializers.CharField(required=False, max_length=500, help_text="Provenance: a commit, a file path.")
    versionMessage = serializers.CharField(required=False, max_length=500, help_text="Confluence's version comment.")
    attachments = serializers.ListField(
        child=serializers.FileField(), required=False,
        help_text="Any number of file parts named attachments. Each part's file name is the path the Markdown refers "
        "to it by (diagram.png, img/diagram.png; relative, / between folders, no ..). Every file must be referenced "
        "(else 400); together at most IMPORT_MAX_ATTACHMENT_BYTES (else 413 content_too_large).",
    )


class AttachmentCountsSerializer(AnswerSerializer):
    uploaded = serializers.IntegerField(help_text="Files uploaded: new, or changed since the portal last uploaded them.")
    unchanged = serializers.IntegerField(help_text="Files left alone: the same SHA-256 as the page's attachment.")
    removed = serializers.IntegerField(
        help_text="Attachments the portal had uploaded that the page no longer references (moved to the trash)."
    )


class ImportResultSerializer(AnswerSerializer):
    """The answer to a successful import, rendered from its audit record (also the body a replay sends)."""

    importId = serializers.UUIDField(source="id")
    status = serializers.ChoiceField(source="operation", choices=ImportRecord.Operation.choices)
    pageId = serializers.CharField(source="page_id")
    pageTitle = serializers.CharField(source="title")
    spaceId = serializers.CharField(source="space_id")
    spaceKey = serializers.CharField(source="space_key")
    version = serializers.IntegerField(source="page_version")
    url = serializers.URLField(source="page_url")
    attachments = AttachmentCountsSerializer(
        help_text="What became of the page's attachments: the files of a multipart import and the diagrams the portal "
        "rendered. All 0 for a JSON import without rendered diagrams (it leaves the page's attachments alone)."
    )


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False)
    pageId = serializers.CharField(required=False, help_text="With title_exists: the existing page.")
    requestId = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class ImportRecordSerializer(serializers.ModelSerializer):
    importId = serializers.UUIDField(source="id")
    requestId = serializers.CharField(source="request_id")
    receivedAt = serializers.DateTimeField(source="received_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    durationMs = serializers.IntegerField(source="duration_ms", allow_null=True)
    httpStatus = serializers.IntegerField(source="http_status", allow_null=True)
    tokenHint = serializers.CharField(source="token_hint")
    instance = serializers.CharField(source="instance.name")
    spaceKey = serializers.CharField(source="space_key")
    spaceId = serializers.CharField(source="space_id")
    parentId = serializers.CharField(source="parent_id")
    pageTitle = serializers.CharField(source="title")
    pageId = serializers.CharField(source="page_id")
    version = serializers.IntegerField(source="page_version", allow_null=True)
    url = serializers.CharField(source="page_url")
    sourceRef = serializers.CharField(source="source_ref")
    idempotencyKey = serializers.CharField(source="idempotency_key")
    contentBytes = serializers.IntegerField(source="content_bytes", allow_null=True)
    contentSha256 = serializers.CharField(source="content_sha256")
    errorCode = serializers.CharField(source="error_code")
    errorMessage = serializers.CharField(source="error_message")
    confluenceStatus = serializers.IntegerField(source="confluence_status", allow_null=True)
    confluenceMessage = serializers.CharField(source="confluence_message")
    attachments = serializers.JSONField(
        read_only=True,
        help_text='{"uploaded": n, "unchanged": n, "removed": n} for an import that wrote its page; {} otherwise '
        "(refused, failed, or a publication's page write: its counts are on the publication's page).",
    )

    class Meta:
        model = ImportRecord
        fields = [
            "importId", "requestId", "status", "operation", "httpStatus", "receivedAt", "finishedAt", "durationMs",
            "tokenHint", "instance", "spaceKey", "spaceId", "parentId", "pageTitle", "pageId", "version", "url",
            "sourceRef", "idempotencyKey", "contentBytes", "contentSha256", "errorCode", "errorMessage",
            "confluenceStatus", "confluenceMessage", "attachments",
        ]
        read_only_fields = fields


class ImportRecordPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next (older) page, or null on the last page.")
    previous = serializers.URLField(allow_null=True)
    results = ImportRecordSerializer(many=True)

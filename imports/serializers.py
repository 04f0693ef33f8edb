"""The shapes of the import API, for the OpenAPI document and for rendering audit records.

Input is checked by `imports.validation` (strict types, the contract's error codes); these serializers
describe the same fields so that /api/schema/ tells clients exactly what to send and what comes back.
"""

from rest_framework import serializers

from imports.models import ImportRecord


class ImportRequestSerializer(serializers.Serializer):
    spaceId = serializers.CharField(help_text="The space key (DOCS) or the numeric space id.")  # noqa: N815
    parentId = serializers.CharField(required=False, help_text="Id of the parent page; default: the space's homepage.")  # noqa: N815
    pageTitle = serializers.CharField(max_length=255, help_text="1 to 255 characters after trimming.")  # noqa: N815
    content = serializers.CharField(help_text="Markdown; not empty; at most IMPORT_MAX_CONTENT_BYTES of UTF-8.")
    overwrite = serializers.BooleanField(
        required=False, default=False, help_text="Update the page when one with this title exists (else 409)."
    )
    labels = serializers.ListField(child=serializers.CharField(), required=False)
    sourceRef = serializers.CharField(required=False, max_length=500, help_text="Provenance: a commit, a file path.")  # noqa: N815
    versionMessage = serializers.CharField(required=False, max_length=500, help_text="Confluence's version comment.")  # noqa: N815


class ImportResultSerializer(serializers.Serializer):
    """The answer to a successful import, rendered from its audit record (also the body a replay sends)."""

    importId = serializers.UUIDField(source="id")  # noqa: N815
    status = serializers.ChoiceField(source="operation", choices=ImportRecord.Operation.choices)
    pageId = serializers.CharField(source="page_id")  # noqa: N815
    pageTitle = serializers.CharField(source="title")  # noqa: N815
    spaceId = serializers.CharField(source="space_id")  # noqa: N815
    spaceKey = serializers.CharField(source="space_key")  # noqa: N815
    version = serializers.IntegerField(source="page_version")
    url = serializers.URLField(source="page_url")


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False)
    pageId = serializers.CharField(required=False, help_text="With title_exists: the existing page.")  # noqa: N815
    requestId = serializers.CharField()  # noqa: N815


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class ImportRecordSerializer(serializers.ModelSerializer):
    importId = serializers.UUIDField(source="id")  # noqa: N815
    requestId = serializers.CharField(source="request_id")  # noqa: N815
    receivedAt = serializers.DateTimeField(source="received_at")  # noqa: N815
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)  # noqa: N815
    durationMs = serializers.IntegerField(source="duration_ms", allow_null=True)  # noqa: N815
    httpStatus = serializers.IntegerField(source="http_status", allow_null=True)  # noqa: N815
    tokenHint = serializers.CharField(source="token_hint")  # noqa: N815
    instance = serializers.CharField(source="instance.name")
    spaceKey = serializers.CharField(source="space_key")  # noqa: N815
    spaceId = serializers.CharField(source="space_id")  # noqa: N815
    parentId = serializers.CharField(source="parent_id")  # noqa: N815
    pageTitle = serializers.CharField(source="title")  # noqa: N815
    pageId = serializers.CharField(source="page_id")  # noqa: N815
    version = serializers.IntegerField(source="page_version", allow_null=True)
    url = serializers.CharField(source="page_url")
    sourceRef = serializers.CharField(source="source_ref")  # noqa: N815
    idempotencyKey = serializers.CharField(source="idempotency_key")  # noqa: N815
    contentBytes = serializers.IntegerField(source="content_bytes", allow_null=True)  # noqa: N815
    contentSha256 = serializers.CharField(source="content_sha256")  # noqa: N815
    errorCode = serializers.CharField(source="error_code")  # noqa: N815
    errorMessage = serializers.CharField(source="error_message")  # noqa: N815
    confluenceStatus = serializers.IntegerField(source="confluence_status", allow_null=True)  # noqa: N815
    confluenceMessage = serializers.CharField(source="confluence_message")  # noqa: N815

    class Meta:
        model = ImportRecord
        fields = [
            "importId", "requestId", "status", "operation", "httpStatus", "receivedAt", "finishedAt", "durationMs",
            "tokenHint", "instance", "spaceKey", "spaceId", "parentId", "pageTitle", "pageId", "version", "url",
            "sourceRef", "idempotencyKey", "contentBytes", "contentSha256", "errorCode", "errorMessage",
            "confluenceStatus", "confluenceMessage",
        ]
        read_only_fields = fields


class ImportRecordPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next (older) page, or null on the last page.")
    previous = serializers.URLField(allow_null=True)
    results = ImportRecordSerializer(many=True)

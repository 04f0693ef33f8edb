"""`POST /api/v1/imports`, `GET /api/v1/imports` and `GET /api/v1/imports/{importId}`."""

import html
from typing import Any
from urllib.parse import quote, unquote

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import DataAndFiles, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from imports.models import ImportRecord
from imports.serializers import (
    ErrorSerializer,
    ImportFormSerializer,
    ImportRecordPageSerializer,
    ImportRecordSerializer,
    ImportRequestSerializer,
    ImportResultSerializer,
)
from imports.services import ImportForm, RequestMeta, UnreadableBody, import_submit
from portal.api import choice_param, uuid_or_none
from portal.errors import PortalError
from portal.http import client_ip_address, content_length


class _PathKeepingParser(DjangoMultiPartParser):
    """Django's multipart parser, keeping the folders of a file name: an attachment is named by the path the Markdown
    refers to it by ("img/diagram.png"), where Django keeps only the base name (here and again in UploadedFile). The
    name is percent-encoded whole, so no "/" is left to cut at, and decoded by ``sent_name``. The path is checked by
    the import (relative, no ..) and never used on the file system."""

    def sanitize_file_name(self, file_name: str) -> str | None:
        file_name = "".join(char for char in html.unescape(file_name) if char.isprintable())
        return quote(file_name, safe="") or None


def sent_name(upload: Any) -> str:
    """The file name of a part as the client sent it (see _PathKeepingParser)."""
    return unquote(upload.name or "")


class AttachmentsParser(MultiPartParser):
    """multipart/form-data with the file names as sent (see _PathKeepingParser)."""

    def parse(self, stream, media_type=None, parser_context=None) -> DataAndFiles:
        parser_context = parser_context or {}
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        try:
            data, files = _PathKeepingParser(
                meta, stream, request.upload_handlers, parser_context.get("encoding", settings.DEFAULT_CHARSET)
            ).parse()
        except MultiPartParserError as error:
            raise exceptions.ParseError(f"multipart form parse error - {error}") from error
        return DataAndFiles(data, files)


def _too_large(message: str, field: str) -> UnreadableBody:
    return UnreadableBody(PortalError(message, code="content_too_large", field=field, status=413))


def _body(request: Request) -> Any:
    """The parsed JSON body or multipart form, or why there is none. A body longer than any import may be is refused
    from its Content-Length alone, before it is read; DRF's parse errors become the contract's codes here, in the
    view."""
    length = content_length(request)
    multipart = (request.content_type or "").startswith("multipart/form-data")
    if multipart and length is not None and length > settings.IMPORT_MAX_BODY_BYTES + settings.IMPORT_MAX_ATTACHMENT_BYTES:
        return _too_large(
            f"the request body is {length} bytes; the attachments may be at most {settings.IMPORT_MAX_ATTACHMENT_BYTES} "
            f"bytes together (IMPORT_MAX_ATTACHMENT_BYTES) and content at most {settings.IMPORT_MAX_CONTENT_BYTES}",
            "attachments",
        )
    if not multipart and length is not None and length > settings.IMPORT_MAX_BODY_BYTES:
        return _too_large(
            f"the request body is {length} bytes; content may be at most "
            f"{settings.IMPORT_MAX_CONTENT_BYTES} bytes of UTF-8",
            "content",
        )
    try:
        data = request.data
        if multipart:
            files = request.FILES
            fields = {name: [v for v in data.getlist(name) if isinstance(v, str)] for name in data if name not in files}
            parts = [(name, sent_name(upload), upload.read()) for name in files for upload in files.getlist(name)]
            return ImportForm(fields=fields, files=parts)
        return data
    except exceptions.UnsupportedMediaType:
        return UnreadableBody(
            PortalError(
                "send the body as JSON with Content-Type: application/json, or as multipart/form-data with attachments",
                code="unsupported_media_type", status=415,
            )
        )
    except (RequestDataTooBig, TooManyFilesSent) as error:
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES if isinstance(error, TooManyFilesSent) else None
        what = f"at most {limit} files" if limit else "the text fields are too large"
        return _too_large(f"the multipart form is too large: {what}", "attachments" if limit else "content")
    except TooManyFieldsSent:
        return UnreadableBody(PortalError("the multipart form has too many fields", code="invalid_request"))
    except exceptions.APIException as error:
        what = "multipart form could not be read" if multipart else "body is not valid JSON"
        return UnreadableBody(PortalError(f"the {what}: {error.detail}", code="invalid_request"))


class ImportPagination(CursorPagination):
    ordering = "-received_at"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 250


ERRORS = {status: OpenApiResponse(ErrorSerializer) for status in (400, 401, 403, 404, 409, 413, 429, 502, 503)}


class ImportListCreate(APIView):
    parser_classes = [JSONParser, AttachmentsParser]

    @extend_schema(
        operation_id="imports_create",
        summary="Import Markdown as a Confluence page",
        request={"application/json": ImportRequestSerializer, "multipart/form-data": ImportFormSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                description="1 to 255 characters; a retry with the same key and body replays the first result.",
            )
        ],
        responses={201: ImportResultSerializer, 200: ImportResultSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        meta = RequestMeta(
            request_id=request.request_id,
            client_ip=client_ip_address(request),
            user_agent=request.headers.get("User-Agent", ""),
            content_length=content_length(request),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        outcome = import_submit(token=request.auth, meta=meta, data=_body(request))
        return Response(outcome.body, status=outcome.http_status, headers=outcome.headers)

    @extend_schema(
        operation_id="imports_list",
        summary="The instance's imports, newest first",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=ImportRecord.Status.values),
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 250, default 50"),
        ],
        responses={200: ImportRecordPageSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        records = ImportRecord.objects.filter(instance_id=request.auth.instance_id).select_related("instance")
        status = choice_param(request, "status", ImportRecord.Status.values)
        if status is not None:
            records = records.filter(status=status)
        paginator = ImportPagination()
        page = paginator.paginate_queryset(records, request, view=self)
        return paginator.get_paginated_response(ImportRecordSerializer(page, many=True).data)


class ImportDetail(APIView):
    @extend_schema(
        operation_id="imports_retrieve",
        summary="The audit record of one import",
        responses={200: ImportRecordSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, import_id: str) -> Response:
        pk = uuid_or_none(import_id)
        # Another instance's record answers exactly like a missing one: its existence is not for this token.
        record = (
            ImportRecord.objects.select_related("instance").filter(pk=pk, instance_id=request.auth.instance_id).first()
            if pk
            else None
        )
        if record is None:
            raise PortalError(f"no import {import_id[:64]} for this instance", code="import_not_found", status=404)
        return Response(ImportRecordSerializer(record).data)

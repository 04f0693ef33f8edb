"""`POST /api/v1/imports`, `GET /api/v1/imports` and `GET /api/v1/imports/{importId}`."""

import uuid
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from imports.models import ImportRecord
from imports.serializers import (
    ErrorSerializer,
    ImportRecordPageSerializer,
    ImportRecordSerializer,
    ImportRequestSerializer,
    ImportResultSerializer,
)
from imports.services import RequestMeta, UnreadableBody, import_submit
from portal.errors import PortalError
from portal.http import client_ip_address, content_length


def _body(request: Request) -> Any:
    """The parsed JSON body, or why there is none. A body longer than any import may be is refused from its
    Content-Length alone, before it is read; DRF's parse errors become the contract's codes here, in the view."""
    length = content_length(request)
    if length is not None and length > settings.IMPORT_MAX_BODY_BYTES:
        return UnreadableBody(
            PortalError(
                f"the request body is {length} bytes; content may be at most "
                f"{settings.IMPORT_MAX_CONTENT_BYTES} bytes of UTF-8",
                code="content_too_large",
                field="content",
                status=413,
            )
        )
    try:
        return request.data
    except exceptions.UnsupportedMediaType:
        return UnreadableBody(
            PortalError("send the body as JSON with Content-Type: application/json", code="unsupported_media_type", status=415)
        )
    except exceptions.APIException as error:
        return UnreadableBody(PortalError(f"the body is not valid JSON: {error.detail}", code="invalid_request"))


class ImportPagination(CursorPagination):
    ordering = "-received_at"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 250


ERRORS = {status: OpenApiResponse(ErrorSerializer) for status in (400, 401, 403, 404, 409, 413, 429, 502, 503)}


class ImportListCreate(APIView):
    @extend_schema(
        operation_id="imports_create",
        summary="Import Markdown as a Confluence page",
        request=ImportRequestSerializer,
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
        status = request.query_params.get("status")
        if status is not None:
            if status not in ImportRecord.Status.values:
                raise PortalError(
                    f"status must be one of {', '.join(ImportRecord.Status.values)}", code="invalid_request", field="status"
                )
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
        try:
            pk = uuid.UUID(import_id)
        except ValueError:
            pk = None
        # Another instance's record answers exactly like a missing one: its existence is not for this token.
        record = (
            ImportRecord.objects.select_related("instance").filter(pk=pk, instance_id=request.auth.instance_id).first()
            if pk
            else None
        )
        if record is None:
            raise PortalError(f"no import {import_id[:64]} for this instance", code="import_not_found", status=404)
        return Response(ImportRecordSerializer(record).data)

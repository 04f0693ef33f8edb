"""`POST /api/v1/publications`, `GET /api/v1/publications` and `GET /api/v1/publications/{publicationId}`."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions as drf_exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from imports.serializers import ErrorSerializer
from imports.services import RequestMeta
from portal.api import choice_param, uuid_or_none
from portal.errors import PortalError
from portal.http import client_ip_address, content_length
from publications.models import Publication
from publications.serializers import (
    PublicationAcceptedSerializer,
    PublicationListSerializer,
    PublicationRequestSerializer,
    PublicationSerializer,
    PublicationSummarySerializer,
)
from publications.services import publication_submit

ERRORS = {status: OpenApiResponse(ErrorSerializer) for status in (400, 401, 403, 404, 409, 413, 415, 429, 502, 503)}


class PublicationPagination(CursorPagination):
    ordering = "-created_at"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 250


def _form(request: Request) -> tuple[dict[str, list[str]], list[str], object | None, int | None]:
    """The multipart form as (text fields, file part names, the bundle, its size), or the contract's refusal."""
    try:
        data, files = request.data, request.FILES
    except drf_exceptions.UnsupportedMediaType as exc:
        raise PortalError(
            "send the publication as multipart/form-data with the archive in a file part named bundle",
            code="unsupported_media_type", status=415,
        ) from exc
    except drf_exceptions.APIException as exc:
        raise PortalError(f"the multipart body could not be read: {exc.detail}", code="invalid_request") from exc
    fields = {name: [v for v in data.getlist(name) if isinstance(v, str)] for name in data if name not in files}
    file_names = [name for name in files for _ in files.getlist(name)]
    bundle = files.get("bundle")
    return fields, file_names, bundle, getattr(bundle, "size", None)


class PublicationListCreate(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="publications_create",
        summary="Publish a tree of Markdown files (a .zip or .tar.gz bundle), in the background",
        request={"multipart/form-data": PublicationRequestSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                description="1 to 255 characters; a retry with the same key and body answers with the same publication.",
            )
        ],
        responses={202: PublicationAcceptedSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        meta = RequestMeta(
            request_id=request.request_id,
            client_ip=client_ip_address(request),
            user_agent=request.headers.get("User-Agent", ""),
            content_length=content_length(request),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        if meta.content_length is not None and meta.content_length > 0 and \
                not request.content_type.startswith("multipart/form-data"):
            raise PortalError(
                "send the publication as multipart/form-data with the archive in a file part named bundle",
                code="unsupported_media_type", status=415,
            )
        outcome = publication_submit(token=request.auth, meta=meta, read_form=lambda: _form(request))
        body = PublicationAcceptedSerializer(outcome.publication, context={"request": request}).data
        return Response(body, status=202, headers={"Location": f"/api/v1/publications/{outcome.publication.pk}"})

    @extend_schema(
        operation_id="publications_list",
        summary="The instance's publications, newest first",
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, enum=Publication.State.values),
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 250, default 50"),
        ],
        responses={200: PublicationListSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        publications = Publication.objects.filter(instance_id=request.auth.instance_id)
        state = choice_param(request, "state", Publication.State.values)
        if state is not None:
            publications = publications.filter(state=state)
        paginator = PublicationPagination()
        page = paginator.paginate_queryset(publications, request, view=self)
        return paginator.get_paginated_response(
            PublicationSummarySerializer(page, many=True, context={"request": request}).data
        )


class PublicationDetail(APIView):

    @extend_schema(
        operation_id="publications_retrieve",
        summary="A publication: its state, progress and what became of every file",
        responses={200: PublicationSerializer, 401: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request, publication_id: str) -> Response:
        pk = uuid_or_none(publication_id)
        # Another instance's publication answers exactly like a missing one.
        publication = Publication.objects.filter(pk=pk, instance_id=request.auth.instance_id).first() if pk else None
        if publication is None:
            raise PortalError(
                f"no publication {publication_id[:64]} for this instance", code="publication_not_found", status=404
            )
        return Response(PublicationSerializer.render(publication))

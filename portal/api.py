"""API plumbing shared by every endpoint: the single error shape and the JSON 404 for unknown paths."""

import logging
import math
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.errors import PortalError

logger = logging.getLogger("portal.api")

# DRF's own exceptions, mapped to the stable codes of the contract.
_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "invalid_request",
    exceptions.ValidationError: "invalid_request",
    exceptions.NotAuthenticated: "token_missing",
    exceptions.AuthenticationFailed: "token_invalid",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def error_body(request_id: str | None, code: str, message: str, field: str | None = None, **extra: Any) -> dict:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    error.update(extra)
    error["requestId"] = request_id
    return {"error": error}


def _first_validation_error(detail: Any, path: str = "") -> tuple[str | None, str]:
    """The first (field, message) of a DRF ValidationError's nested detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            field, message = _first_validation_error(value, f"{path}.{name}" if path and name else name or path)
            return field, message
    if isinstance(detail, list) and detail:
        return _first_validation_error(detail[0], path)
    return (path or None), str(detail)


def exception_handler(exc: Exception, context: dict) -> Response:
    request_id = getattr(context.get("request"), "request_id", None)
    headers: dict[str, str] = {}
    if isinstance(exc, PortalError):
        body = error_body(request_id, exc.code, exc.message, exc.field, **exc.extra)
        return Response(body, status=exc.status, headers=exc.headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        code = getattr(exc, "portal_code", None) or next(
            (c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error"
        )
        field = None
        if isinstance(exc, exceptions.ValidationError):
            field, message = _first_validation_error(exc.detail)
        else:
            message = str(exc.detail)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        return Response(error_body(request_id, code, message, field), status=exc.status_code, headers=headers)
    # Anything else is our bug: log it with its traceback, and tell the client only the request id.
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return Response(
        error_body(request_id, "internal_error", "An unexpected error occurred; quote the request id to an administrator."),
        status=500,
    )


def choice_param(request: Any, name: str, choices: list[str]) -> str | None:
    """A query parameter that must be one of `choices` (a list filter), or None when absent; else a 400."""
    value = request.query_params.get(name)
    if value is not None and value not in choices:
        raise PortalError(f"{name} must be one of {', '.join(choices)}", code="invalid_request", field=name)
    return value


def uuid_or_none(value: str) -> uuid.UUID | None:
    """The id in a URL, or None when it is not one: a malformed id answers like an unknown one (404)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# A serializer that only renders answers: its fields are bound once per class instead of deep-copied for every
# instance, as DRF does so that a form's validation state cannot leak between requests. Rendering reads no such
# state (`to_representation` of plain fields depends only on the object), and the copies cost about a third of an
# authenticated no-op request. Not for input, nor for fields that read `context` (hyperlinks).
# A comment, not a docstring: drf-spectacular publishes a serializer's docstring, inherited ones included, as the
# description of its schema component.
class AnswerSerializer(serializers.Serializer):

    @property
    def fields(self):  # type: ignore[override]
        bound = type(self).__dict__.get("_bound_fields")
        if bound is None:
            bound = super().fields
            type(self)._bound_fields = bound
        return bound


class UnknownEndpoint(APIView):
    """Every path under /api/ that no endpoint claims: a JSON 404 in the shared shape."""

    authentication_classes: list = []
    permission_classes: list = []
    schema = None

    def initial(self, request, *args, **kwargs):
        raise exceptions.NotFound(f"No endpoint at {request.path}.")


def server_error(request: HttpRequest) -> JsonResponse:
    """handler500: JSON for the API, Django's page elsewhere (e.g. a crash in middleware)."""
    from django.views.defaults import server_error as html_server_error

    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(getattr(request, "request_id", None), "internal_error", "An unexpected error occurred; quote the request id to an administrator."),
            status=500,
        )
    return html_server_error(request)

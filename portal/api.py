"""API plumbing shared by every endpoint: the single error shape and the JSON 404 for unknown paths."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from rest_framework import ISO_8601, exceptions, serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.response import Response
from rest_framework.settings import api_settings
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
#
# Rendering takes a shorter road for the commonest fields, with the same result as DRF's: an attribute path read
# with getattr (DRF's `get_attribute` wraps each step in exception handling and callable checks, and its
# DateTimeField looks the current time zone up again for every value). Whatever is not that plain case (a
# callable, a missing attribute, a mapping, a field with its own `get_attribute`, a naive datetime, a
# DateTimeField with its own format or zone) is rendered by DRF's own code, field by field.
# tests/portal/test_answer_serializer.py compares both renderings for every answer serializer.
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

    @classmethod
    def render(cls, instance: Any) -> dict[str, Any]:
        """What ``cls(instance).data`` holds, as a plain dict, without making a serializer for every answer: the fields
        are bound once per class and rendering reads nothing else of the serializer."""
        prototype = cls.__dict__.get("_prototype")
        if prototype is None:
            prototype = cls._prototype = cls()
        return prototype.to_representation(instance)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        plan = type(self).__dict__.get("_plan")
        if plan is None:
            plan = type(self)._plan = [_FieldPlan.of(field) for field in self._readable_fields]
        answer: dict[str, Any] = {}
        zone = None
        for name, attrs, is_datetime, field in plan:
            value = instance
            if attrs:
                try:
                    for attr in attrs:
                        if _is_mapping(type(value)):
                            raise _NotPlain
                        value = getattr(value, attr)
                        if callable(value):
                            raise _NotPlain
                except (_NotPlain, AttributeError, ObjectDoesNotExist):
                    attrs = None
            if attrs is None:
                # DRF's road: defaults, SkipField, callables, mappings, related fields.
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
                if (value.pk if isinstance(value, PKOnlyObject) else value) is None:
                    answer[name] = None
                else:
                    answer[name] = field.to_representation(value)
                continue
            if value is None:
                answer[name] = None
            elif is_datetime and isinstance(value, dt.datetime) and value.utcoffset() is not None:
                if zone is None:
                    zone = timezone.get_current_timezone()
                text = value.astimezone(zone).isoformat()
                answer[name] = text[:-6] + "Z" if text.endswith("+00:00") else text
            else:
                answer[name] = field.to_representation(value)
        return answer


class _NotPlain(Exception):
    pass


@functools.cache
def _is_mapping(kind: type) -> bool:
    # What DRF's get_attribute asks (isinstance of an ABC, slow), once per type.
    return issubclass(kind, Mapping)


class _FieldPlan(NamedTuple):
    name: str
    # The attribute path to read with getattr, or None: the field reads its value itself.
    attrs: tuple[str, ...] | None
    # An ISO 8601 DateTimeField in the current time zone (DRF's defaults).
    is_datetime: bool
    field: serializers.Field

    @classmethod
    def of(cls, field: serializers.Field) -> _FieldPlan:
        plain = type(field).get_attribute is serializers.Field.get_attribute and bool(field.source_attrs)
        is_datetime = (
            type(field) is serializers.DateTimeField
            and not hasattr(field, "timezone")
            and str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower() == ISO_8601
            and settings.USE_TZ
        )
        return cls(field.field_name, tuple(field.source_attrs) if plain else None, is_datetime, field)


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

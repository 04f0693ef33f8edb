"""Every API error, DRF's own included, comes in the one shape of API.md with a stable code."""

import pytest


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["requestId"] == response["X-Request-ID"]
    return error


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/imports/x/y/z", "/api/v2/", "/api/"])
def test_unknown_api_paths_are_a_json_404(client, path):
    for method in (client.get, client.post, client.delete):
        assert_error(method(path), 404, "not_found")


@pytest.mark.django_db
def test_unknown_site_paths_stay_html(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_handler_renders_drf_and_unknown_errors():
    from rest_framework import exceptions
    from rest_framework.test import APIRequestFactory

    from portal.api import exception_handler
    from portal.errors import PortalError

    request = APIRequestFactory().get("/api/v1/x")
    request.request_id = "rid-1"
    context = {"request": request, "view": None}

    cases = [
        (exceptions.ParseError("JSON parse error"), 400, "invalid_request"),
        (exceptions.ValidationError({"content": ["This field is required."]}), 400, "invalid_request"),
        (exceptions.NotAuthenticated(), 401, "token_missing"),
        (exceptions.MethodNotAllowed("PUT"), 405, "method_not_allowed"),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "unsupported_media_type"),
        (exceptions.Throttled(wait=2.2), 429, "rate_limited"),
        (PortalError("content must not be empty", code="content_empty", field="content"), 400, "content_empty"),
        (RuntimeError("boom with a secret"), 500, "internal_error"),
    ]
    for exc, status, code in cases:
        response = exception_handler(exc, context)
        assert response.status_code == status
        assert response.data["error"]["code"] == code
        assert response.data["error"]["requestId"] == "rid-1"
        assert "secret" not in response.data["error"]["message"]

    validation = exception_handler(exceptions.ValidationError({"content": ["This field is required."]}), context)
    assert validation.data["error"]["field"] == "content"
    assert exception_handler(exceptions.Throttled(wait=2.2), context)["Retry-After"] == "3"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "status", "content_type"),
    [
        ("", 200, "application/vnd.oai.openapi"),
        ("*/*", 200, "application/vnd.oai.openapi"),
        ("application/json", 200, "application/json"),
        ("application/json, text/plain", 200, "application/json"),
        ("image/png", 406, ""),
    ],
)
def test_the_schema_answers_in_the_form_the_client_accepts(client, accept, status, content_type):
    response = client.get("/api/schema/", HTTP_ACCEPT=accept) if accept else client.get("/api/schema/")
    assert response.status_code == status
    assert response["Content-Type"].startswith(content_type)

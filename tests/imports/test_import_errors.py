"""Every refusal of POST /api/v1/imports: its status, its stable code, and the audit record it leaves."""

import json

import pytest
from django.test import override_settings

from imports.models import ImportRecord
from tests.factories import bearer_client
from tests.imports.conftest import post_import
from tokens.services import token_issue

pytestmark = pytest.mark.django_db

DOC = {"spaceId": "DOCS", "pageTitle": "Guide", "content": "Some *Markdown*"}


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["requestId"] == response["X-Request-ID"]
    if field:
        assert error.get("field") == field
    return error


def last_record() -> ImportRecord:
    return ImportRecord.objects.order_by("-received_at").first()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({**DOC, "content": ""}, "content_empty", "content"),
        ({**DOC, "content": " \n\t "}, "content_empty", "content"),
        ({**DOC, "pageTitle": "   "}, "title_invalid", "pageTitle"),
        ({**DOC, "pageTitle": "x" * 256}, "title_invalid", "pageTitle"),
        ({**DOC, "pageTitle": "bell\x07"}, "title_invalid", "pageTitle"),
        ({**DOC, "labels": ["has space"]}, "labels_invalid", "labels"),
        ({**DOC, "labels": "not-a-list"}, "labels_invalid", "labels"),
        ({**DOC, "labels": ["ok", 3]}, "labels_invalid", "labels"),
        ({**DOC, "labels": ["a:b"]}, "labels_invalid", "labels"),
        ({**DOC, "unexpected": 1}, "invalid_request", "unexpected"),
        ({"pageTitle": "t", "content": "c"}, "invalid_request", "spaceId"),
        ({**DOC, "spaceId": 42}, "invalid_request", "spaceId"),
        ({**DOC, "spaceId": "NO SUCH"}, "invalid_request", "spaceId"),
        ({**DOC, "overwrite": "false"}, "invalid_request", "overwrite"),
        ({**DOC, "parentId": "abc"}, "invalid_request", "parentId"),
        ({**DOC, "content": None}, "invalid_request", "content"),
        ({**DOC, "sourceRef": "x" * 501}, "invalid_request", "sourceRef"),
    ],
)
def test_invalid_fields_are_400_with_their_code_and_a_rejected_record(api, body, code, field):
    assert_error(post_import(api, body), 400, code, field)
    record = last_record()
    assert (record.status, record.http_status, record.error_code) == ("rejected", 400, code)
    assert record.finished_at is not None


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_400(api, raw):
    response = api.generic("POST", "/api/v1/imports", raw, content_type="application/json")
    assert_error(response, 400, "invalid_request")
    assert last_record().status == "rejected"


def test_a_body_that_is_not_json_at_all_is_415(api):
    response = api.generic("POST", "/api/v1/imports", b"spaceId=DOCS", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


@override_settings(IMPORT_MAX_CONTENT_BYTES=100, IMPORT_MAX_BODY_BYTES=1000)
def test_content_over_the_limit_is_413(api):
    assert_error(post_import(api, {**DOC, "content": "é" * 51}), 413, "content_too_large", "content")
    assert last_record().content_bytes is None


@override_settings(IMPORT_MAX_CONTENT_BYTES=100, IMPORT_MAX_BODY_BYTES=1000)
def test_a_huge_body_is_refused_from_its_length_without_being_read(api):
    response = api.generic(
        "POST", "/api/v1/imports", b"x" * 2000, content_type="application/json", CONTENT_LENGTH="50000000"
    )
    assert_error(response, 413, "content_too_large")
    assert last_record().http_status == 413


def test_unknown_space_is_404_space_not_found(api):
    assert_error(post_import(api, {**DOC, "spaceId": "NOPE"}), 404, "space_not_found", "spaceId")
    assert last_record().confluence_status == 404


def test_unknown_numeric_space_is_404_space_not_found(api):
    assert_error(post_import(api, {**DOC, "spaceId": "999999999"}), 404, "space_not_found")


def test_unknown_parent_is_404_parent_not_found(api):
    assert_error(post_import(api, {**DOC, "parentId": "987654321"}), 404, "parent_not_found", "parentId")


def test_a_space_outside_the_tokens_scope_is_403(instance, standin):
    scoped = token_issue(instance=instance, label="scoped", days=1, actor=None, spaces=["DEMO"])
    client = bearer_client(scoped.secret)
    assert_error(post_import(client, DOC), 403, "space_forbidden")
    numeric = str(standin.state.space_by_key["DOCS"])
    assert_error(post_import(client, {**DOC, "spaceId": numeric}), 403, "space_forbidden")
    assert post_import(client, {**DOC, "spaceId": "DEMO"}).status_code == 201
    assert ImportRecord.objects.filter(error_code="space_forbidden").count() == 2


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_an_unusable_idempotency_key_is_400(api, key):
    assert_error(post_import(api, DOC, HTTP_IDEMPOTENCY_KEY=key), 400, "invalid_request", "Idempotency-Key")
    assert last_record().status == "rejected"


def test_missing_and_bad_tokens_are_401_without_a_record(client):
    assert_error(client.post("/api/v1/imports", DOC, content_type="application/json"), 401, "token_missing")
    bad = bearer_client("mdi_not-a-real-token")
    assert_error(post_import(bad, DOC), 401, "token_invalid")
    assert ImportRecord.objects.count() == 0


@override_settings(IMPORT_RATE_LIMIT_PER_MINUTE=3)
def test_the_per_token_rate_limit_is_429_with_retry_after(api):
    for n in range(3):
        assert post_import(api, {**DOC, "pageTitle": f"Page {n}"}).status_code == 201
    response = post_import(api, {**DOC, "pageTitle": "Page 4"})
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert last_record().status == "rejected"


def test_confluence_refusing_the_credentials_is_502(api, standin, monkeypatch):
    # The site's API token was rotated: the one the instance stores no longer works.
    monkeypatch.setattr(standin, "_basic", "Basic cm90YXRlZDpyb3RhdGVk")
    assert_error(post_import(api, DOC), 502, "confluence_auth_failed")
    record = last_record()
    assert record.status == "failed" and record.confluence_status == 401


@pytest.mark.parametrize("key", ["nul\x00field", "lone\ud800surrogate", "bell\x07"])
def test_an_unknown_field_whose_name_cannot_be_stored_as_text_is_still_a_400(api, key):
    """The name is echoed in the message and the record: PostgreSQL refuses NUL in text, UTF-8 a lone surrogate."""
    response = api.post("/api/v1/imports", json.dumps({**DOC, key: 1}), content_type="application/json")
    error = assert_error(response, 400, "invalid_request")
    assert error["message"].startswith("unknown field: ")
    record = last_record()
    assert (record.status, record.error_code) == ("rejected", "invalid_request")
    assert record.error_message.startswith("unknown field: ") and record.error_message.isprintable()

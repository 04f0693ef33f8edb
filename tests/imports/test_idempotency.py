"""Idempotency-Key: a retry replays the first result, never a second page."""

import datetime as dt

import pytest
from django.utils import timezone

from imports.models import IdempotencyKey, ImportRecord
from imports.validation import parse_import_request
from tests.imports.conftest import post_import

pytestmark = pytest.mark.django_db

DOC = {"spaceId": "DOCS", "pageTitle": "Runbook", "content": "Step one"}


def pages_titled(standin, title):
    return [p for p in standin.state.pages.values() if p.title == title and p.status == "current"]


def test_the_same_key_twice_creates_one_page_and_replays_the_first_answer(api, standin):
    first = post_import(api, DOC, HTTP_IDEMPOTENCY_KEY="build-77")
    second = post_import(api, DOC, HTTP_IDEMPOTENCY_KEY="build-77")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert len(pages_titled(standin, "Runbook")) == 1
    statuses = sorted(ImportRecord.objects.values_list("status", flat=True))
    assert statuses == ["replayed", "succeeded"]


def test_key_order_and_whitespace_do_not_make_a_different_body(api, standin):
    post_import(api, DOC, HTTP_IDEMPOTENCY_KEY="k1")
    reordered = b'{ "content": "Step one",  "pageTitle": "Runbook", "spaceId": "DOCS" }'
    response = api.generic("POST", "/api/v1/imports", reordered, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 201
    assert len(pages_titled(standin, "Runbook")) == 1


def test_the_same_key_with_another_body_is_409(api, standin):
    post_import(api, DOC, HTTP_IDEMPOTENCY_KEY="build-78")
    response = post_import(api, {**DOC, "content": "Step two"}, HTTP_IDEMPOTENCY_KEY="build-78")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"


def test_a_refusal_is_replayed_too(api, standin):
    post_import(api, DOC)
    first = post_import(api, DOC, HTTP_IDEMPOTENCY_KEY="dup")
    second = post_import(api, DOC, HTTP_IDEMPOTENCY_KEY="dup")
    assert first.status_code == second.status_code == 409
    assert second.json()["error"]["code"] == "title_exists"


def test_a_key_whose_first_request_is_still_running_is_409_in_progress(issued, api, standin):
    # The first request claimed the key and has not finished: its record is still "received".
    running = ImportRecord.objects.create(instance=issued.token.instance, token=issued.token, token_hint="h", request_id="r")
    IdempotencyKey.objects.create(token=issued.token, key="busy", request_hash=_hash_of(DOC), record=running)
    response = post_import(api, DOC, HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "import_in_progress"
    assert response["Retry-After"]


def test_a_failure_worth_retrying_releases_the_key(api, standin):
    standin.fail(503, times=10, op="createPage")  # more than the client retries
    failed = post_import(api, DOC, HTTP_IDEMPOTENCY_KEY="retry-me")
    assert failed.status_code == 503
    standin.reset(data=False)
    retried = post_import(api, DOC, HTTP_IDEMPOTENCY_KEY="retry-me")
    assert retried.status_code == 201
    assert len(pages_titled(standin, "Runbook")) == 1


def test_keys_of_an_abandoned_or_expired_first_request_can_be_used_again(issued, api, standin):
    stale = ImportRecord.objects.create(
        instance=issued.token.instance, token=issued.token, token_hint="h", request_id="r", status="abandoned"
    )
    IdempotencyKey.objects.create(token=issued.token, key="old", request_hash=_hash_of(DOC), record=stale)
    assert post_import(api, DOC, HTTP_IDEMPOTENCY_KEY="old").status_code == 201

    done = ImportRecord.objects.create(
        instance=issued.token.instance, token=issued.token, token_hint="h", request_id="r", status="succeeded"
    )
    IdempotencyKey.objects.create(
        token=issued.token, key="expired", request_hash="x", record=done,
        created_at=timezone.now() - dt.timedelta(hours=49),
    )
    assert post_import(api, {**DOC, "pageTitle": "Other"}, HTTP_IDEMPOTENCY_KEY="expired").status_code == 201


def _hash_of(body: dict) -> str:
    return parse_import_request(body, max_content_bytes=10**6).request_hash

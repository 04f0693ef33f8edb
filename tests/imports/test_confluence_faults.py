"""When Confluence misbehaves: rate limits, errors, lost answers. Never a duplicate page, always a record."""

import pytest

from imports.models import ImportRecord
from tests.imports.conftest import post_import

pytestmark = pytest.mark.django_db

DOC = {"spaceId": "DOCS", "pageTitle": "Fault tolerant", "content": "Body"}


def current_pages(standin, title):
    return [p for p in standin.state.pages.values() if p.title == title and p.status == "current"]


def test_a_429_storm_with_retry_after_recovers(api, standin, fake_sleep):
    post_import(api, {**DOC, "pageTitle": "warm-up"})  # caches the space id
    standin.fail(429, retry_after=3, times=3)
    response = post_import(api, DOC)
    assert response.status_code == 201, response.content
    assert all(wait >= 3 for wait in fake_sleep.sleeps[:3])
    assert len(current_pages(standin, "Fault tolerant")) == 1


def test_429_for_ever_is_503_confluence_rate_limited_with_retry_after(api, standin, fake_sleep):
    standin.fail(429, retry_after=7, times=100)
    response = post_import(api, DOC)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "confluence_rate_limited"
    assert response["Retry-After"] == "7"
    record = ImportRecord.objects.get()
    assert (record.status, record.confluence_status) == ("failed", 429)


def test_a_500_after_the_page_was_created_leaves_exactly_one_page(api, standin):
    post_import(api, {**DOC, "pageTitle": "warm-up"})
    standin.fail_after_create(status=500)
    response = post_import(api, DOC)
    assert response.status_code == 201, response.content
    assert len(current_pages(standin, "Fault tolerant")) == 1


def test_a_dropped_connection_after_the_create_leaves_exactly_one_page(api, standin):
    post_import(api, {**DOC, "pageTitle": "warm-up"})
    standin.fail_after_create(drop=True)
    response = post_import(api, DOC)
    assert response.status_code == 201, response.content
    assert len(current_pages(standin, "Fault tolerant")) == 1


def test_confluence_down_is_503_with_a_failed_record_keeping_confluences_message(api, standin, fake_sleep):
    standin.fail(503, times=100)
    response = post_import(api, DOC)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "confluence_unavailable"
    record = ImportRecord.objects.get()
    assert record.status == "failed"
    assert record.confluence_status == 503
    assert record.confluence_message


def test_confluence_unreachable_is_503(api, instance, fake_sleep):
    instance.base_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    instance.save()
    response = post_import(api, DOC)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "confluence_unavailable"
    assert ImportRecord.objects.get().status == "failed"


def test_storage_that_confluence_rejects_is_502(api, standin, monkeypatch):
    from confluence.converter import Converted
    from imports import services

    monkeypatch.setattr(services, "convert", lambda text, title=None, **options: Converted(body="<p>broken", title=None,
                                                                                  labels=[], metadata={}, attachments=[]))
    response = post_import(api, DOC)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "confluence_rejected"
    assert "xhtml" in ImportRecord.objects.get().confluence_message.lower()

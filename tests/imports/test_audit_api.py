"""GET /api/v1/imports and /api/v1/imports/{id}: a token sees its own instance's records, and no other's."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from imports.models import ImportRecord
from tests.factories import bearer_client, make_instance
from tests.imports.conftest import post_import
from tokens.services import token_issue

pytestmark = pytest.mark.django_db

DOC = {"spaceId": "DOCS", "pageTitle": "Audited", "content": "Body"}


def test_one_record_shows_what_happened(api, standin):
    created = post_import(api, DOC, HTTP_X_REQUEST_ID="ci-1", HTTP_USER_AGENT="docs-bot/2").json()
    response = api.get(f"/api/v1/imports/{created['importId']}")
    assert response.status_code == 200
    record = response.json()
    assert record["importId"] == created["importId"]
    assert record["requestId"] == "ci-1"
    assert record["status"] == "succeeded" and record["operation"] == "created"
    assert record["pageId"] == created["pageId"] and record["version"] == 1
    assert record["spaceKey"] == "DOCS" and record["pageTitle"] == "Audited"
    assert record["contentBytes"] == 4 and len(record["contentSha256"]) == 64
    assert record["tokenHint"].startswith("mdi_")
    assert "content" not in record  # the Markdown itself is never kept


def test_the_list_is_newest_first_paginated_and_filterable(api, standin):
    post_import(api, {**DOC, "content": ""})
    for n in range(5):
        post_import(api, {**DOC, "pageTitle": f"Audited {n}"})
    first = api.get("/api/v1/imports", {"limit": 2}).json()
    assert [r["pageTitle"] for r in first["results"]] == ["Audited 4", "Audited 3"]
    second = api.get(first["next"]).json()
    assert [r["pageTitle"] for r in second["results"]] == ["Audited 2", "Audited 1"]
    rejected = api.get("/api/v1/imports", {"status": "rejected"}).json()["results"]
    assert [r["errorCode"] for r in rejected] == ["content_empty"]
    bad = api.get("/api/v1/imports", {"status": "nonsense"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


def test_an_unknown_or_malformed_id_is_404_import_not_found(api):
    for import_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = api.get(f"/api/v1/imports/{import_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "import_not_found"


def test_a_token_of_another_instance_sees_nothing_and_cannot_import_there(api, standin, fake_sleep):
    mine = post_import(api, DOC).json()
    other_instance = make_instance("other", url=standin.url)
    other = bearer_client(token_issue(instance=other_instance, label="other-ci", days=1, actor=None).secret)
    assert other.get(f"/api/v1/imports/{mine['importId']}").status_code == 404
    assert other.get("/api/v1/imports").json()["results"] == []
    # What the other token imports lands on its own instance's records, never on ours.
    post_import(other, {**DOC, "pageTitle": "Theirs"})
    assert [r["pageTitle"] for r in api.get("/api/v1/imports").json()["results"]] == ["Audited"]


def test_records_left_received_are_marked_abandoned_by_the_command(issued, capsys):
    old = ImportRecord.objects.create(
        instance=issued.token.instance, token=issued.token, token_hint="h", request_id="r",
        received_at=timezone.now() - dt.timedelta(hours=1),
    )
    fresh = ImportRecord.objects.create(instance=issued.token.instance, token=issued.token, token_hint="h", request_id="r2")
    call_command("abandon_stale_imports", "--older-than", "600")
    assert "1 import(s) marked abandoned" in capsys.readouterr().out
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == ("abandoned", "received")
    assert old.finished_at is not None


def test_the_client_address_honours_only_trusted_proxies(api, standin, settings):
    post_import(api, {**DOC, "pageTitle": "Direct"}, HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.5")
    settings.TRUSTED_PROXY_HOPS = 1
    post_import(api, {**DOC, "pageTitle": "Proxied"}, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",
                REMOTE_ADDR="10.0.0.5")
    post_import(api, {**DOC, "pageTitle": "Socket"}, REMOTE_ADDR="")
    addresses = dict(ImportRecord.objects.values_list("title", "client_ip"))
    assert addresses == {"Direct": "10.0.0.5", "Proxied": "203.0.113.9", "Socket": None}

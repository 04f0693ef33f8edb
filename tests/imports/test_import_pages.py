"""POST /api/v1/imports: Markdown becomes a Confluence page, created, updated, or left alone when unchanged."""

import pytest

from imports.models import ImportRecord
from imports.services import PROPERTY_KEY
from tests.imports.conftest import page_titled, post_import

pytestmark = pytest.mark.django_db

DOC = {"spaceId": "DOCS", "pageTitle": "Release notes", "content": "# Release notes\n\nHello **world**.\n"}


def test_create_answers_201_with_the_new_page(api, standin):
    response = post_import(api, {**DOC, "labels": ["release", "Docs"], "sourceRef": "abc123:docs/notes.md"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "created"
    assert body["pageTitle"] == "Release notes"
    assert body["spaceKey"] == "DOCS"
    assert body["version"] == 1
    assert body["url"].startswith(standin.url + "/wiki/spaces/DOCS/pages/" + body["pageId"])

    page = page_titled(standin, "DOCS", "Release notes")
    assert str(page.id) == body["pageId"]
    # The title heading is dropped (Confluence shows the title), the rest is storage format.
    assert "<h1>" not in page.body and "<strong>world</strong>" in page.body
    assert [name for _, name in page.labels] == ["release", "docs"]
    provenance = page.properties[PROPERTY_KEY].value
    assert provenance["importId"] == body["importId"]
    assert provenance["sourceRef"] == "abc123:docs/notes.md"
    assert provenance["tokenHint"].startswith("mdi_")

    record = ImportRecord.objects.get(pk=body["importId"])
    assert (record.status, record.operation, record.http_status) == ("succeeded", "created", 201)
    assert record.page_id == body["pageId"] and record.page_version == 1
    assert record.content_bytes == len(DOC["content"].encode())
    assert record.finished_at is not None and record.duration_ms is not None


def test_same_title_again_is_409_with_the_existing_page_id(api, standin):
    first = post_import(api, DOC).json()
    response = post_import(api, {**DOC, "content": "other"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "title_exists"
    assert error["pageId"] == first["pageId"]
    record = ImportRecord.objects.get(error_code="title_exists")
    assert record.status == "rejected" and record.confluence_status == 400


def test_overwrite_updates_then_identical_import_is_unchanged(api, standin):
    created = post_import(api, DOC).json()
    updated = post_import(api, {**DOC, "content": "New text", "overwrite": True, "versionMessage": "from CI"})
    assert updated.status_code == 200
    assert updated.json()["status"] == "updated"
    assert updated.json()["version"] == 2
    assert updated.json()["pageId"] == created["pageId"]
    page = page_titled(standin, "DOCS", "Release notes")
    assert page.version_message == "from CI"
    assert "New text" in page.body

    again = post_import(api, {**DOC, "content": "New text", "overwrite": True})
    assert again.status_code == 200
    assert again.json()["status"] == "unchanged"
    assert again.json()["version"] == 2
    assert page_titled(standin, "DOCS", "Release notes").version == 2


def test_overwrite_of_a_missing_page_creates_it(api, standin):
    response = post_import(api, {**DOC, "overwrite": True})
    assert response.status_code == 201
    assert response.json()["status"] == "created"


def test_space_by_numeric_id_and_an_explicit_parent(api, standin):
    space_id = standin.state.space_by_key["DEMO"]
    homepage = standin.state.spaces[space_id].homepage_id
    response = post_import(api, {**DOC, "spaceId": str(space_id), "parentId": str(homepage)})
    assert response.status_code == 201, response.content
    assert response.json()["spaceKey"] == "DEMO"
    assert page_titled(standin, "DEMO", "Release notes").parent_id == homepage


def test_front_matter_labels_join_the_request_labels(api, standin):
    content = "---\ntitle: Ignored here\nlabels: [alpha, beta]\n---\nBody text\n"
    response = post_import(api, {**DOC, "content": content, "labels": ["beta", "gamma"]})
    assert response.status_code == 201
    page = page_titled(standin, "DOCS", "Release notes")
    assert sorted(name for _, name in page.labels) == ["alpha", "beta", "gamma"]
    assert "Ignored here" not in page.body


def test_a_new_page_costs_the_fewest_confluence_calls(api, standin):
    post_import(api, {**DOC, "pageTitle": "Warm-up"})  # the space id is cached from here on
    standin.reset(data=False)
    post_import(api, DOC)
    assert standin.stats()["requests"] == 2  # create, then the content property

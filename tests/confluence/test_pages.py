"""Spaces and pages through the client, against the stand-in over real HTTP."""

from __future__ import annotations

import pytest

from confluence.client import ConfluenceClient
from confluence.errors import NotFound, StorageRejected, TitleExists, TooLarge, VersionConflict
from confluence.standin import StandinServer


def test_space_by_key_and_by_id_is_cached(client: ConfluenceClient, standin: StandinServer) -> None:
    docs = client.space("DOCS")
    assert docs.key == "DOCS" and docs.homepage_id
    assert docs.web_url == f"{standin.url}/wiki/spaces/DOCS"
    before = client.requests_made
    assert client.space("DOCS") is docs
    assert client.space(docs.id) is docs
    assert client.requests_made == before


def test_space_by_numeric_id_uncached(client: ConfluenceClient, standin: StandinServer) -> None:
    demo_id = str(standin.state.space_by_key["DEMO"])
    assert client.space(demo_id).key == "DEMO"


def test_missing_space(client: ConfluenceClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.space("NOPE")
    assert caught.value.what == "space"
    with pytest.raises(NotFound) as caught:
        client.space("999999999")
    assert caught.value.what == "space" and caught.value.status == 404


def test_create_get_update_page(client: ConfluenceClient, standin: StandinServer) -> None:
    docs = client.space("DOCS")
    created = client.create_page(space_id=docs.id, title="Release notes", body="<p>v1</p>")
    assert created.version == 1 and created.parent_id == docs.homepage_id and created.space_id == docs.id
    assert created.web_url == f"{standin.url}/wiki/spaces/DOCS/pages/{created.id}/Release+notes"
    fetched = client.page(created.id, with_body=True)
    assert fetched.body == "<p>v1</p>" and fetched.title == "Release notes"
    assert client.page(created.id).body is None
    updated = client.update_page(
        page_id=created.id, title="Release notes", body="<p>v2</p>", version=2, message="Second"
    )
    assert updated.version == 2 and updated.version_message == "Second"
    assert client.page(created.id, with_body=True).body == "<p>v2</p>"
    found = client.page_by_title(docs.id, "Release notes")
    assert found is not None and found.id == created.id and found.version == 2
    assert client.page_by_title(docs.id, "No such page") is None


def test_stale_version_is_a_conflict(client: ConfluenceClient) -> None:
    docs = client.space("DOCS")
    page = client.create_page(space_id=docs.id, title="Versioned", body="<p>a</p>")
    with pytest.raises(VersionConflict) as caught:
        client.update_page(page_id=page.id, title="Versioned", body="<p>b</p>", version=1)
    assert caught.value.status == 409


def test_duplicate_title_carries_the_existing_page(client: ConfluenceClient) -> None:
    docs = client.space("DOCS")
    first = client.create_page(space_id=docs.id, title="Twice", body="<p>a</p>")
    with pytest.raises(TitleExists) as caught:
        client.create_page(space_id=docs.id, title="Twice", body="<p>b</p>")
    assert caught.value.status == 400 and caught.value.page_id == first.id
    assert caught.value.message.startswith("A page with this title already exists")


def test_same_title_in_another_space_is_fine(client: ConfluenceClient) -> None:
    a = client.create_page(space_id=client.space("DOCS").id, title="Shared", body="<p/>")
    b = client.create_page(space_id=client.space("DEMO").id, title="Shared", body="<p/>")
    assert a.id != b.id


def test_malformed_storage_is_rejected(client: ConfluenceClient) -> None:
    with pytest.raises(StorageRejected) as caught:
        client.create_page(space_id=client.space("DOCS").id, title="Broken", body="<p><b>unclosed</p>")
    assert "Error parsing xhtml" in caught.value.message


def test_storage_with_macros_and_html_entities_is_accepted(client: ConfluenceClient) -> None:
    body = (
        '<p>a&nbsp;b &mdash; c</p><ac:structured-macro ac:name="code"><ac:plain-text-body>'
        "<![CDATA[if a < b: pass]]></ac:plain-text-body></ac:structured-macro>"
        '<p><ac:link><ri:page ri:content-title="Other" /></ac:link></p>'
    )
    page = client.create_page(space_id=client.space("DOCS").id, title="Macros", body=body)
    assert client.page(page.id, with_body=True).body == body


def test_missing_parent_and_missing_space_on_create(client: ConfluenceClient) -> None:
    docs = client.space("DOCS")
    with pytest.raises(NotFound) as caught:
        client.create_page(space_id=docs.id, title="Orphan", body="<p/>", parent_id="123456789")
    assert caught.value.what == "parent"
    with pytest.raises(NotFound) as caught:
        client.create_page(space_id="123456789", title="Nowhere", body="<p/>")
    assert caught.value.what == "space"


def test_missing_page(client: ConfluenceClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.page("123456789")
    assert caught.value.what == "page"


def test_too_large_body_is_413(client: ConfluenceClient) -> None:
    body = "<p>" + "x" * (5 * 1024 * 1024) + "</p>"
    with pytest.raises(TooLarge) as caught:
        client.create_page(space_id=client.space("DOCS").id, title="Huge", body=body)
    assert caught.value.status == 413
    # The refused connection was closed; the client goes on with a fresh one.
    assert client.space("DEMO").key == "DEMO"


def test_delete_page_frees_the_title(client: ConfluenceClient) -> None:
    docs = client.space("DOCS")
    page = client.create_page(space_id=docs.id, title="Short-lived", body="<p/>")
    client.delete_page(page.id)
    with pytest.raises(NotFound):
        client.page(page.id)
    assert client.page_by_title(docs.id, "Short-lived") is None
    again = client.create_page(space_id=docs.id, title="Short-lived", body="<p/>")
    assert again.id != page.id


def test_labels_and_properties(client: ConfluenceClient) -> None:
    page = client.create_page(space_id=client.space("DOCS").id, title="Labelled", body="<p/>")
    client.add_labels(page.id, ["release", "docs"])
    client.add_labels(page.id, ["docs", "API-v2"])
    assert client.labels(page.id) == ["release", "docs", "api-v2"]
    assert client.get_property(page.id, "md-portal") is None
    first = client.set_property(page.id, "md-portal", {"hash": "abc"}, current=None)
    assert first.version == 1 and first.value == {"hash": "abc"}
    second = client.set_property(page.id, "md-portal", {"hash": "def"})
    assert second.id == first.id and second.version == 2
    got = client.get_property(page.id, "md-portal")
    assert got is not None and got.value == {"hash": "def"} and got.version == 2
    with pytest.raises(VersionConflict):
        client.update_property(page.id, first, {"hash": "stale"})

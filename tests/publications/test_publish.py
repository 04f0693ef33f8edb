"""Publishing a tree end to end, over real HTTP against the stand-in, run by the real worker command.

The issue's "done when": a 30-file tree with nested folders, images and cross links publishes; a second run makes no
page version and uploads no attachment; changing one file updates one page; removing one reports one orphan; a dry
run writes nothing.
"""

from __future__ import annotations

import random
import string

import pytest

from imports.models import ImportRecord
from publications.models import Publication, PublishedPage
from tests.publications.archives import make_tar, make_zip
from tests.publications.conftest import post_bundle
from tests.publications.trees import docs_tree
from tests.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def publish(api, files: dict[str, bytes], **fields) -> dict:
    response = post_bundle(api, make_zip(files), **{"sourceRef": "handbook@1", **fields})
    assert response.status_code == 202, response.content
    run_queued_tasks()
    return api.get(response["Location"]).json()


def pages_by_path(result: dict) -> dict[str, dict]:
    return {page["path"]: page for page in result["pages"]}


def standin_page(standin, page_id: str):
    return standin.state.pages[int(page_id)]


def test_a_30_file_tree_publishes_with_its_hierarchy_images_and_links(api, standin):
    result = publish(api, docs_tree())

    assert result["state"] == "succeeded", result
    pages = pages_by_path(result)
    # 23 Markdown files, and a plain parent page for the folder without an index (tutorials/).
    assert len(result["pages"]) == 24
    assert result["progress"] == {"done": 24, "total": 24}
    assert {page["status"] for page in result["pages"]} == {"created"}
    home = standin.state.spaces[standin.state.space_by_key["DOCS"]].homepage_id

    root = standin_page(standin, pages["README.md"]["pageId"])
    assert root.title == "Handbook" and root.parent_id == home
    guide = standin_page(standin, pages["guide/index.md"]["pageId"])
    setup = standin_page(standin, pages["guide/setup.md"]["pageId"])
    tuning = standin_page(standin, pages["guide/advanced/tuning.md"]["pageId"])
    assert guide.title == "Guide" and guide.parent_id == root.id
    assert setup.parent_id == guide.id
    assert standin_page(standin, pages["guide/advanced/index.md"]["pageId"]).parent_id == guide.id
    assert tuning.parent_id == int(pages["guide/advanced/index.md"]["pageId"])
    tutorials = next(p for p in result["pages"] if p["path"].startswith("tutorials") and p["title"] == "Tutorials")
    assert standin_page(standin, pages["tutorials/first.md"]["pageId"]).parent_id == int(tutorials["pageId"])

    # Cross links become page links by title, with the anchor; images and files become attachments of the page.
    assert 'ri:content-title="API"' in setup.body and 'ac:anchor="' in setup.body
    assert {a.title for a in setup.attachments.values()} == {"flow.png", "manual.pdf"}
    assert pages["guide/setup.md"]["attachments"] == {"uploaded": 2, "unchanged": 0, "removed": 0}
    api_page = standin_page(standin, pages["reference/api.md"]["pageId"])
    (reference_flow,) = api_page.attachments.values()
    assert reference_flow.data.endswith(b"reference flow")  # not the guide's flow.png
    assert pages["guide/setup.md"]["url"].startswith(standin.url)
    # Every page write left an audit record.
    assert ImportRecord.objects.filter(operation="created", status="succeeded").count() == 24
    assert PublishedPage.objects.count() == 24


def test_a_second_run_of_the_same_bundle_writes_nothing(api, standin):
    publish(api, docs_tree())
    standin.state.reset_writes()
    records = ImportRecord.objects.count()

    again = publish(api, docs_tree())

    assert again["state"] == "succeeded"
    assert {page["status"] for page in again["pages"]} == {"unchanged"}
    assert standin.state.writes() == {"page_versions": 0, "attachment_versions": 0, "attachments_deleted": 0}
    assert pages_by_path(again)["guide/setup.md"]["attachments"] == {"uploaded": 0, "unchanged": 2, "removed": 0}
    assert ImportRecord.objects.count() == records  # no write, no audit record


def test_changing_one_file_updates_one_page(api, standin):
    first = publish(api, docs_tree())
    standin.state.reset_writes()
    files = docs_tree()
    files["reference/errors.md"] = b"# Errors\n\nEvery code, and what to do about it.\n"

    again = publish(api, files, versionMessage="docs: errors explained")

    statuses = {page["path"]: page["status"] for page in again["pages"]}
    assert statuses.pop("reference/errors.md") == "updated"
    assert set(statuses.values()) == {"unchanged"}
    assert standin.state.writes()["page_versions"] == 1
    page = standin_page(standin, pages_by_path(first)["reference/errors.md"]["pageId"])
    assert page.version == 2 and page.version_message == "docs: errors explained"
    assert ImportRecord.objects.filter(operation="updated", title="Errors").count() == 1


def test_a_changed_image_is_uploaded_again_and_an_unused_one_removed(api, standin):
    publish(api, docs_tree())
    standin.state.reset_writes()
    files = docs_tree()
    files["guide/img/flow.png"] = b"\x89PNG new flow"
    files["guide/setup.md"] = (  # the link to the PDF is gone
        b"# Setup\n\n## Install\n\nRun it. ![flow](img/flow.png)\n\nSee [auth](../reference/api.md#authentication).\n"
    )

    again = pages_by_path(publish(api, files))

    assert again["guide/setup.md"]["attachments"] == {"uploaded": 1, "unchanged": 0, "removed": 1}
    assert again["guide/advanced/tuning.md"]["attachments"] == {"uploaded": 1, "unchanged": 0, "removed": 0}
    assert again["guide/advanced/tuning.md"]["status"] == "unchanged"
    statuses = {p["path"]: p["status"] for p in again.values() if p["status"] != "unchanged"}
    assert statuses == {"guide/setup.md": "updated"}
    assert standin.state.writes() == {"page_versions": 1, "attachment_versions": 2, "attachments_deleted": 1}


def test_removing_a_file_reports_one_orphan_and_deletes_nothing(api, standin):
    first = publish(api, docs_tree())
    gone = pages_by_path(first)["notes/note-07.md"]
    files = docs_tree()
    del files["notes/note-07.md"]

    again = publish(api, files, sourceRef="handbook@2")

    assert again["orphans"] == [
        {"pageId": gone["pageId"], "title": "Note 7", "url": gone["url"], "path": "notes/note-07.md"}
    ]
    assert standin_page(standin, gone["pageId"]).status == "current"
    assert PublishedPage.objects.get(page_id=gone["pageId"]).orphaned_by_id is not None


def test_a_dry_run_says_what_would_happen_and_writes_nothing(api, standin):
    publish(api, docs_tree())
    files = docs_tree()
    files["reference/errors.md"] = b"# Errors\n\nRewritten.\n"
    files["reference/new.md"] = b"# Brand new\n\nHello.\n"
    files["howto/index.md"] = b"# How-to\n"  # a new folder: its children would go under a page not yet there
    files["howto/deploy.md"] = b"# Deploy\n\nShip it.\n"
    del files["notes/note-03.md"]
    standin.state.reset_writes()
    pages_before = standin.state.counts()["pages"]
    records = ImportRecord.objects.count()

    dry = publish(api, files, dryRun="true")

    assert dry["dryRun"] is True and dry["state"] == "succeeded"
    pages = pages_by_path(dry)
    assert pages["reference/errors.md"]["action"] == "update"
    assert "-<p>Every code, see" in pages["reference/errors.md"]["diff"]
    assert "+<p>Rewritten.</p>" in pages["reference/errors.md"]["diff"]
    assert pages["reference/new.md"]["action"] == "create" and pages["reference/new.md"]["pageId"] is None
    assert "+<p>Hello.</p>" in pages["reference/new.md"]["diff"]
    assert pages["README.md"]["action"] == "unchanged" and "diff" not in pages["README.md"]
    assert pages["howto/index.md"]["action"] == pages["howto/deploy.md"]["action"] == "create"
    assert dry["progress"] == {"done": 26, "total": 26}
    assert [o["title"] for o in dry["orphans"]] == ["Note 3"]
    assert standin.state.writes() == {"page_versions": 0, "attachment_versions": 0, "attachments_deleted": 0}
    assert standin.state.counts()["pages"] == pages_before
    assert ImportRecord.objects.count() == records
    assert not PublishedPage.objects.filter(orphaned_by__isnull=False).exists()


def test_a_page_edited_in_confluence_is_drifted_unless_forced(api, standin):
    first = pages_by_path(publish(api, docs_tree()))
    edited = standin_page(standin, first["reference/cli.md"]["pageId"])
    edited.body, edited.version = "<p>Edited by hand.</p>", edited.version + 1
    files = docs_tree()
    files["reference/cli.md"] = b"# CLI\n\nNew text.\n"

    kept = publish(api, files)
    assert kept["state"] == "partial"
    assert pages_by_path(kept)["reference/cli.md"]["status"] == "drifted"
    assert edited.body == "<p>Edited by hand.</p>"

    forced = publish(api, files, overwrite="force")
    assert pages_by_path(forced)["reference/cli.md"]["status"] == "updated"
    assert "New text." in edited.body


def test_a_page_of_the_same_title_not_from_this_tree_is_title_exists_unless_overwrite(api, standin):
    docs = standin.state.space_by_key["DOCS"]
    foreign = standin.state.add_page(space_id=docs, title="Errors", body="<p>Someone's page</p>",
                                     parent_id=standin.state.spaces[docs].homepage_id)

    refused = publish(api, docs_tree())
    errors = pages_by_path(refused)["reference/errors.md"]
    assert refused["state"] == "partial"
    assert errors["status"] == "failed" and errors["error"]["code"] == "title_exists"
    assert errors["pageId"] == str(foreign.id)
    assert foreign.body == "<p>Someone's page</p>"

    adopted = publish(api, docs_tree(), overwrite="true")
    assert pages_by_path(adopted)["reference/errors.md"]["status"] == "updated"
    assert "Every code" in foreign.body


def test_a_tar_gz_bundle_publishes_too(api, standin):
    response = post_bundle(api, make_tar({"a/README.md": b"# Tarred\n\nYes.\n"}), name="docs.tar.gz")
    run_queued_tasks()
    result = api.get(response["Location"]).json()
    assert result["state"] == "succeeded"
    assert [p["title"] for p in result["pages"]] == ["Tarred"]
    assert Publication.objects.get().bundle_bytes > 0


def test_a_3_mb_file_becomes_a_parent_and_children_instead_of_a_413(api, standin):
    words = random.Random(13)
    vocabulary = ["".join(words.choice(string.ascii_lowercase) for _ in range(words.randint(2, 9))) for _ in range(5000)]

    def paragraph() -> str:  # varied text, as a real book: a repeated line would be refused as a zip bomb
        return " ".join(words.choice(vocabulary) for _ in range(180)) + ".\n\n"

    sections = "".join(f"## Chapter {n}\n\n" + "".join(paragraph() for _ in range(55)) for n in range(1, 51))
    big = ("# The big book\n\nIntroduction.\n\n" + sections).encode()
    assert len(big) > 3 * 2**20

    result = publish(api, {"book/README.md": big, "book/other.md": b"# Other\n\nSee [chapter 7](README.md#chapter-7).\n"})

    assert result["state"] == "succeeded", [p.get("error") for p in result["pages"]]
    parent = next(p for p in result["pages"] if p["title"] == "The big book")
    parts = [p for p in result["pages"] if p["path"].startswith("book/README.md") and p is not parent]
    assert len(parts) >= 4
    limit = 1024 * 1024
    for page in [parent, *parts]:
        stored = standin_page(standin, page["pageId"])
        assert len(stored.body.encode()) <= limit
    assert all(standin_page(standin, p["pageId"]).parent_id == int(parent["pageId"]) for p in parts)
    book = standin_page(standin, parent["pageId"]).body
    assert all(f'ri:content-title="{p["title"]}"' in book for p in parts)  # the parent links to its parts

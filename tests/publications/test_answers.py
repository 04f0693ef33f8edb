"""Every answer of the publications API is what /api/schema/ says it is: the fields it documents, in their order,
the required ones always there, nothing undocumented, values of the documented type. The serializers both document
and render these answers; this holds them to it in every shape an answer takes (a failed page, a dry run, orphans,
broken links, a failed publication, the list, a replay)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.publications.archives import make_zip
from tests.publications.conftest import post_bundle
from tests.publications.trees import docs_tree
from tests.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)

TYPES = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}


def conforms(value, schema: dict, components: dict, where: str = "answer") -> None:
    """Assert that ``value`` is what the OpenAPI ``schema`` allows, and that an object lists its fields in the
    order the schema declares them."""
    if "$ref" in schema:
        return conforms(value, components[schema["$ref"].rsplit("/", 1)[1]], components, where)
    if "allOf" in schema:
        for part in schema["allOf"]:
            conforms(value, part, components, where)
        return None
    if value is None:
        assert schema.get("nullable"), f"{where} is null, which the schema does not allow"
        return None
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} is not one of {schema['enum']}"
    kind = schema.get("type")
    if kind is None:
        return None
    assert isinstance(value, TYPES[kind]) and not (kind == "integer" and isinstance(value, bool)), \
        f"{where}: {value!r} is not a {kind}"
    if schema.get("format") == "uuid":
        uuid.UUID(value)
    if schema.get("format") == "date-time":
        dt.datetime.fromisoformat(value)
    if kind == "array":
        for n, item in enumerate(value):
            conforms(item, schema["items"], components, f"{where}[{n}]")
    if kind == "object" and "properties" in schema:
        properties = schema["properties"]
        assert set(value) <= set(properties), f"{where} has undocumented fields {set(value) - set(properties)}"
        assert set(schema.get("required", [])) <= set(value), f"{where} lacks {set(schema['required']) - set(value)}"
        assert list(value) == [name for name in properties if name in value], f"{where}: fields out of order"
        for name, item in value.items():
            conforms(item, properties[name], components, f"{where}.{name}")
    return None


@pytest.fixture
def documented(api):
    """Check an answer against the schema of its operation and status."""
    schema = api.get("/api/schema/?format=json").json()

    def check(operation: str, status: int, body: dict) -> dict:
        path, method = operation.split(" ")
        content = schema["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
        conforms(body, content["schema"], schema["components"]["schemas"])
        return body

    return check


def publish(api, files: dict[str, bytes], **fields):
    accepted = post_bundle(api, make_zip(files), **{"sourceRef": "handbook@1", **fields})
    assert accepted.status_code == 202, accepted.content
    run_queued_tasks()
    return accepted, api.get(accepted["Location"]).json()


DETAIL = "/api/v1/publications/{publication_id} get"


def test_a_partial_publication_with_a_failed_page_is_documented(api, standin, documented):
    docs = standin.state.space_by_key["DOCS"]
    standin.state.add_page(space_id=docs, title="Errors", body="<p>Theirs</p>",
                           parent_id=standin.state.spaces[docs].homepage_id)
    files = {**docs_tree(), "broken.md": b"# Broken\n\nSee [gone](../../outside.md) and ![x](missing.png).\n"}

    accepted, shown = publish(api, files)

    documented("/api/v1/publications post", 202, accepted.json())
    documented(DETAIL, 200, shown)
    assert shown["state"] == "partial" and "error" not in shown
    failed = [page for page in shown["pages"] if page["status"] == "failed"]
    assert [page["error"]["code"] for page in failed] == ["title_exists"]
    assert all("error" not in page for page in shown["pages"] if page["status"] != "failed")
    assert all("action" not in page and "diff" not in page for page in shown["pages"])
    assert shown["brokenLinks"] and any(page["warnings"] for page in shown["pages"])


def test_a_dry_run_with_orphans_is_documented(api, standin, documented):
    publish(api, docs_tree())
    files = docs_tree()
    files["reference/errors.md"] = b"# Errors\n\nRewritten.\n"
    del files["notes/note-03.md"]

    _, dry = publish(api, files, dryRun="true")

    documented(DETAIL, 200, dry)
    pages = {page["path"]: page for page in dry["pages"]}
    assert pages["reference/errors.md"]["action"] == "update" and pages["reference/errors.md"]["diff"]
    assert pages["README.md"]["action"] == "unchanged" and "diff" not in pages["README.md"]
    assert [orphan["title"] for orphan in dry["orphans"]] == ["Note 3"]


def test_a_failed_publication_the_list_and_a_replay_are_documented(api, standin, documented):
    docs = standin.state.space_by_key["DOCS"]
    standin.state.add_page(space_id=docs, title="Lonely", body="<p>Theirs</p>",
                           parent_id=standin.state.spaces[docs].homepage_id)
    files = {"lonely.md": b"# Lonely\n\nOnly me.\n"}
    key = {"HTTP_IDEMPOTENCY_KEY": "run-1"}
    first = post_bundle(api, make_zip(files), headers=key)
    run_queued_tasks()

    shown = documented(DETAIL, 200, api.get(first["Location"]).json())
    assert shown["state"] == "failed" and shown["error"]["code"] == "title_exists"
    replay = post_bundle(api, make_zip(files), headers=key)
    assert replay.status_code == 202
    assert documented("/api/v1/publications post", 202, replay.json()) == {**first.json(), "state": "failed"}
    listed = documented("/api/v1/publications get", 200, api.get("/api/v1/publications").json())
    assert [item["publicationId"] for item in listed["results"]] == [shown["publicationId"]]
    assert listed["results"][0]["url"] == first.json()["url"]

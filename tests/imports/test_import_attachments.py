"""The multipart form of POST /api/v1/imports: the page's files come along and become its attachments, uploaded only
when changed, removed when no longer referenced; against the stand-in over real HTTP.

The bodies are encoded with urllib3, as requests and curl -F send them: the file name of a part keeps its folders
(img/a.png), which Django's test client would cut to the base name."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import override_settings
from urllib3 import encode_multipart_formdata

from imports.models import ImportRecord
from tests.imports.conftest import page_titled, post_import

pytestmark = pytest.mark.django_db

PNG_A = b"\x89PNG\r\n\x1a\n one"
PNG_B = b"\x89PNG\r\n\x1a\n two"
PDF = b"%PDF-1.7 spec"
MARKDOWN = "# Runbook\n\n![first](img/diagram.png)\n\n![second](other/diagram.png)\n\nRead [the spec](files/spec.pdf).\n"


def post_form(api, fields: dict, files: list[tuple[str, bytes]], **headers):
    parts: list = list(fields.items())
    parts += [("attachments", (name, data, "application/octet-stream")) for name, data in files]
    body, content_type = encode_multipart_formdata(parts)
    return api.generic("POST", "/api/v1/imports", body, content_type=content_type, **headers)


FIELDS = {"spaceId": "DOCS", "pageTitle": "Runbook", "content": MARKDOWN, "overwrite": "true"}
FILES = [("img/diagram.png", PNG_A), ("other/diagram.png", PNG_B), ("files/spec.pdf", PDF)]


def current_attachments(standin, title: str) -> dict[str, bytes]:
    page = page_titled(standin, "DOCS", title)
    return {a.title: a.data for a in page.attachments.values() if a.status == "current"}


def test_files_become_attachments_named_apart_and_referenced_by_those_names(api, standin):
    response = post_form(api, FIELDS, FILES)
    assert response.status_code == 201, response.json()
    assert response.json()["attachments"] == {"uploaded": 3, "unchanged": 0, "removed": 0}
    # Two files of one base name in different folders: each named after its path, as publications name them.
    assert current_attachments(standin, "Runbook") == {
        "img_diagram.png": PNG_A, "other_diagram.png": PNG_B, "spec.pdf": PDF,
    }
    body = page_titled(standin, "DOCS", "Runbook").body
    assert '<ri:attachment ri:filename="img_diagram.png"' in body
    assert '<ri:attachment ri:filename="other_diagram.png"' in body
    assert '<ri:attachment ri:filename="spec.pdf"' in body
    page = page_titled(standin, "DOCS", "Runbook")
    comments = {a.title: a.comment for a in page.attachments.values()}
    assert comments["spec.pdf"] == "sha256:" + hashlib.sha256(PDF).hexdigest()
    record = ImportRecord.objects.get()
    assert record.attachments == {"uploaded": 3, "unchanged": 0, "removed": 0}


def test_a_second_identical_import_uploads_nothing_a_changed_file_one_a_dropped_reference_removes_one(api, standin):
    assert post_form(api, FIELDS, FILES).status_code == 201
    standin.state.reset_writes()

    again = post_form(api, FIELDS, FILES)
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["attachments"]) == (
        "unchanged", {"uploaded": 0, "unchanged": 3, "removed": 0})
    assert standin.stats()["writes"] == {"page_versions": 0, "attachment_versions": 0, "attachments_deleted": 0}

    changed = [("img/diagram.png", PNG_A + b" edited"), *FILES[1:]]
    answer = post_form(api, FIELDS, changed).json()
    assert (answer["status"], answer["attachments"]) == ("unchanged", {"uploaded": 1, "unchanged": 2, "removed": 0})
    assert current_attachments(standin, "Runbook")["img_diagram.png"] == PNG_A + b" edited"
    assert standin.stats()["writes"]["attachment_versions"] == 1

    # The spec is no longer linked: the portal's upload goes. The two images keep their (path) names.
    fewer = {**FIELDS, "content": MARKDOWN.replace("Read [the spec](files/spec.pdf).\n", "")}
    answer = post_form(api, fewer, changed[:2]).json()
    assert (answer["status"], answer["attachments"]) == ("updated", {"uploaded": 0, "unchanged": 2, "removed": 1})
    assert set(current_attachments(standin, "Runbook")) == {"img_diagram.png", "other_diagram.png"}
    assert standin.stats()["writes"]["attachments_deleted"] == 1


def test_a_referenced_file_not_sent_stays_attached_and_a_persons_attachment_is_never_removed(api, standin):
    assert post_form(api, FIELDS, FILES).status_code == 201
    page = page_titled(standin, "DOCS", "Runbook")
    from confluence.client import ConfluenceClient
    from tokens.confluence import client_for
    from tokens.models import Instance

    client: ConfluenceClient = client_for(Instance.objects.get())
    client.upload_attachment(str(page.id), filename="by-hand.txt", data=b"notes", media_type="text/plain")
    # Only the images are sent again; the spec is still linked, so it stays; the hand-attached file stays too.
    answer = post_form(api, FIELDS, FILES[:2]).json()
    assert answer["attachments"] == {"uploaded": 0, "unchanged": 2, "removed": 0}
    assert set(current_attachments(standin, "Runbook")) == {
        "img_diagram.png", "other_diagram.png", "spec.pdf", "by-hand.txt"}


def test_fields_keep_their_types_labels_as_a_json_array_or_repeated(api, standin):
    fields = {**FIELDS, "labels": json.dumps(["ops", "runbook"])}
    assert post_form(api, fields, FILES).status_code == 201
    page = page_titled(standin, "DOCS", "Runbook")
    assert [name for _, name in page.labels] == ["ops", "runbook"]

    body, content_type = encode_multipart_formdata([
        ("spaceId", "DOCS"), ("pageTitle", "Two"), ("content", "![x](a.png)"), ("labels", "one"), ("labels", "two"),
        ("attachments", ("a.png", PNG_A, "image/png")),
    ])
    response = api.generic("POST", "/api/v1/imports", body, content_type=content_type)
    assert response.status_code == 201, response.json()
    assert [name for _, name in page_titled(standin, "DOCS", "Two").labels] == ["one", "two"]


@pytest.mark.parametrize(
    ("fields", "files", "code", "field", "words"),
    [
        (FIELDS, [*FILES, ("notes/unused.txt", b"x")], "invalid_request", "attachments", "'notes/unused.txt' is not referenced"),
        (FIELDS, [("../img/diagram.png", PNG_A)], "invalid_request", "attachments", "relative path"),
        (FIELDS, [("/etc/diagram.png", PNG_A)], "invalid_request", "attachments", "relative path"),
        (FIELDS, [("img/diagram.png", PNG_A), ("IMG/diagram.png", PNG_B)], "invalid_request", "attachments", "twice"),
        ({**FIELDS, "overwrite": "yes"}, FILES, "invalid_request", "overwrite", "true or false"),
        ({**FIELDS, "labels": "[not json"}, FILES, "labels_invalid", "labels", "JSON array"),
        ({**FIELDS, "labels": '[1, 2]'}, FILES, "labels_invalid", "labels", "list of strings"),
        ({**FIELDS, "colour": "red"}, FILES, "invalid_request", "colour", "unknown field"),
    ],
)
def test_a_bad_form_is_a_clear_400_and_nothing_is_written(api, standin, fields, files, code, field, words):
    response = post_form(api, fields, files)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert (error["code"], error.get("field")) == (code, field)
    assert words in error["message"]
    assert page_titled(standin, "DOCS", "Runbook") is None
    assert standin.stats()["data"]["attachments"] == 0
    assert ImportRecord.objects.get().status == "rejected"


def test_a_field_sent_twice_or_as_a_file_is_400(api, standin):
    body, content_type = encode_multipart_formdata([
        ("spaceId", "DOCS"), ("spaceId", "OPS"), ("pageTitle", "T"), ("content", "x"),
    ])
    response = api.generic("POST", "/api/v1/imports", body, content_type=content_type)
    assert (response.status_code, response.json()["error"]["field"]) == (400, "spaceId")
    body, content_type = encode_multipart_formdata([
        ("spaceId", "DOCS"), ("pageTitle", "T"), ("content", ("c.md", b"x", "text/markdown")),
    ])
    response = api.generic("POST", "/api/v1/imports", body, content_type=content_type)
    assert (response.status_code, response.json()["error"]["field"]) == (400, "content")


@override_settings(IMPORT_MAX_ATTACHMENT_BYTES=1000, IMPORT_MAX_CONTENT_BYTES=100, IMPORT_MAX_BODY_BYTES=1000)
def test_attachments_over_the_limit_are_413_from_content_length_before_reading(api, standin):
    response = post_form(api, {**FIELDS, "content": "![a](a.png)"}, [("a.png", b"x" * 5000)])
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("content_too_large", "attachments")
    assert "IMPORT_MAX_ATTACHMENT_BYTES" in error["message"]
    assert ImportRecord.objects.get().status == "rejected"
    assert standin.stats()["requests"] == 0
    # Under the body bound but over the files' own: refused too, once the parts are counted.
    response = post_form(api, {**FIELDS, "content": "![a](a.png)"}, [("a.png", b"x" * 1200)])
    assert (response.status_code, response.json()["error"]["code"]) == (413, "content_too_large")


def test_a_replay_with_the_same_key_answers_the_same_and_uploads_nothing(api, standin):
    first = post_form(api, FIELDS, FILES, HTTP_IDEMPOTENCY_KEY="ci-42")
    standin.state.reset_writes()
    second = post_form(api, FIELDS, FILES, HTTP_IDEMPOTENCY_KEY="ci-42")
    assert second.status_code == first.status_code == 201
    assert second.json() == first.json()
    assert second.json()["attachments"] == {"uploaded": 3, "unchanged": 0, "removed": 0}
    assert standin.stats()["writes"] == {"page_versions": 0, "attachment_versions": 0, "attachments_deleted": 0}
    # The same key with other files is another request.
    other = post_form(api, FIELDS, [("img/diagram.png", PNG_B), *FILES[1:]], HTTP_IDEMPOTENCY_KEY="ci-42")
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_conflict")


def test_a_json_import_answers_zero_attachments_and_leaves_the_pages_files_alone(api, standin):
    assert post_form(api, FIELDS, FILES).status_code == 201
    standin.state.reset_writes()
    response = post_import(api, {"spaceId": "DOCS", "pageTitle": "Runbook", "content": "No files now", "overwrite": True})
    assert response.status_code == 200
    assert response.json()["attachments"] == {"uploaded": 0, "unchanged": 0, "removed": 0}
    assert len(current_attachments(standin, "Runbook")) == 3
    assert standin.stats()["writes"]["attachments_deleted"] == 0


@override_settings(DATA_UPLOAD_MAX_NUMBER_FILES=2)
def test_more_files_than_the_form_may_carry_is_413(api, standin):
    response = post_form(api, FIELDS, FILES)
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("content_too_large", "attachments")
    assert "at most 2 files" in error["message"]
    assert ImportRecord.objects.get().status == "rejected"


def test_a_body_neither_json_nor_multipart_is_415(api):
    response = api.generic("POST", "/api/v1/imports", b"spaceId=DOCS", content_type="text/plain")
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["error"]["message"]


def test_the_openapi_document_describes_the_form_and_the_counts(api):
    schema = api.get("/api/schema/?format=json").json()
    create = schema["paths"]["/api/v1/imports"]["post"]
    form = create["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    properties = schema["components"]["schemas"][form]["properties"]
    assert properties["attachments"]["items"]["format"] == "binary"
    assert "application/json" in create["requestBody"]["content"]
    result = schema["components"]["schemas"]["ImportResult"]["properties"]["attachments"]
    counts = schema["components"]["schemas"][result["allOf"][0]["$ref"].rsplit("/", 1)[1] if "allOf" in result
                                          else result["$ref"].rsplit("/", 1)[1]]
    assert set(counts["properties"]) == {"uploaded", "unchanged", "removed"}


def test_the_audit_record_keeps_the_counts(api, standin):
    answer = post_form(api, FIELDS, FILES).json()
    record = api.get(f"/api/v1/imports/{answer['importId']}").json()
    assert record["attachments"] == {"uploaded": 3, "unchanged": 0, "removed": 0}
    refused = post_form(api, {**FIELDS, "overwrite": "maybe"}, FILES)
    assert refused.status_code == 400
    listed = api.get("/api/v1/imports?status=rejected").json()["results"]
    assert [item["attachments"] for item in listed] == [{}]

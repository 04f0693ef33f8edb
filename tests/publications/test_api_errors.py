"""Every refusal of `POST /api/v1/publications` answers at once, in the one error shape, and queues nothing."""

from __future__ import annotations

import zipfile

import pytest
from rest_framework.test import APIClient

from publications.models import Publication
from tests.factories import bearer_client, make_instance
from tests.publications.archives import make_tar, make_zip, tar_member, zip_with_symlink
from tests.publications.conftest import post_bundle, small_zip
from tokens.services import token_issue

pytestmark = pytest.mark.django_db


def error_of(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error.get("field") == field, error
    assert error["requestId"]
    assert not Publication.objects.exists()
    return error


# ------------------------------------------------------------------------------------- the bundle


def test_a_file_that_is_not_an_archive_is_bundle_invalid(api):
    error_of(post_bundle(api, b"just some text, not a zip"), 400, "bundle_invalid", "bundle")


def test_a_path_that_leaves_the_root_is_refused_and_named(api):
    error = error_of(post_bundle(api, make_zip({"docs/a.md": b"# A", "../../etc/passwd.md": b"x"})), 400, "bundle_invalid")
    assert "../../etc/passwd.md" in error["message"]


def test_an_absolute_path_is_refused(api):
    error = error_of(post_bundle(api, make_tar({"/etc/evil.md": b"# x", "a.md": b"# A"}), name="d.tgz"), 400, "bundle_invalid")
    assert "/etc/evil.md" in error["message"]


def test_a_symlink_is_refused(api):
    error = error_of(post_bundle(api, zip_with_symlink({"a.md": b"# A"}, "link.md", "/etc/passwd")), 400, "bundle_invalid")
    assert "link.md" in error["message"]
    tar = make_tar({"a.md": b"# A"}, special=[tar_member("b.md", b"2", target="../../x")])
    assert "b.md" in error_of(post_bundle(api, tar, name="d.tar.gz"), 400, "bundle_invalid")["message"]


def test_one_path_twice_under_different_cases_is_refused(api):
    error = error_of(post_bundle(api, make_zip({"Guide.md": b"# A", "guide.md": b"# B"})), 400, "bundle_invalid")
    assert "guide.md" in error["message"].lower()


def test_a_bundle_without_markdown_is_refused(api):
    error_of(post_bundle(api, make_zip({"image.png": b"\x89PNG...."})), 400, "bundle_invalid", "bundle")


def test_too_many_files_is_bundle_too_large(api, settings):
    settings.PUBLICATION_MAX_FILES = 3
    files = {f"p{n}.md": b"# P" for n in range(4)}
    error_of(post_bundle(api, make_zip(files)), 413, "bundle_too_large", "bundle")


def test_a_zip_bomb_is_bundle_too_large(api):
    bomb = make_zip({"a.md": b"# A\n", "zeros.md": b"0" * (30 * 2**20)})  # 30 MB of zeros in ~30 KB
    error_of(post_bundle(api, bomb), 413, "bundle_too_large", "bundle")


def test_too_many_bytes_unpacked_is_bundle_too_large(api, settings):
    settings.PUBLICATION_MAX_TOTAL_BYTES = 1000
    files = {"a.md": b"# A\n" + bytes(range(256)) * 8}
    error_of(post_bundle(api, make_zip(files, compression=zipfile.ZIP_STORED)), 413, "bundle_too_large", "bundle")


def test_an_upload_over_the_limit_is_refused_before_it_is_read(api, settings):
    settings.PUBLICATION_MAX_UPLOAD_BYTES = 10_000
    error_of(post_bundle(api, b"PK\x03\x04" + b"\0" * 200_000), 413, "bundle_too_large", "bundle")


# ------------------------------------------------------------------------------------- the form


def test_the_bundle_is_required(api):
    error_of(post_bundle(api, None), 400, "invalid_request", "bundle")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"spaceId": ""}, "spaceId"),
        ({"spaceId": "NOT A KEY"}, "spaceId"),
        ({"parentId": "abc"}, "parentId"),
        ({"overwrite": "yes"}, "overwrite"),
        ({"dryRun": "maybe"}, "dryRun"),
        ({"sourceRef": "x" * 501}, "sourceRef"),
        ({"versionMessage": "y" * 501}, "versionMessage"),
        ({"pageTitle": "A"}, "pageTitle"),
    ],
)
def test_bad_fields_are_invalid_request_naming_the_field(api, fields, field):
    error = error_of(post_bundle(api, small_zip(), **fields), 400, "invalid_request", field)
    assert field in error["message"]


def test_json_instead_of_multipart_is_415(api):
    response = api.post("/api/v1/publications", {"spaceId": "DOCS"}, format="json")
    error_of(response, 415, "unsupported_media_type")


def test_the_bundle_sent_as_text_is_refused(api):
    response = api.post("/api/v1/publications", {"spaceId": "DOCS", "bundle": "not a file"}, format="multipart")
    error_of(response, 400, "invalid_request", "bundle")


# ------------------------------------------------------------------------------ token, space, parent


def test_without_a_token_is_401(db):
    error_of(post_bundle(APIClient(), small_zip()), 401, "token_missing")


def test_an_unknown_or_revoked_token_is_401(instance, issued):
    from tokens.services import token_revoke

    error_of(post_bundle(bearer_client("mdi_not-a-real-token"), small_zip()), 401, "token_invalid")
    token_revoke(token=issued.token, actor=None)
    error_of(post_bundle(bearer_client(issued.secret), small_zip()), 401, "token_revoked")


def test_a_space_outside_the_tokens_scope_is_403(instance):
    scoped = token_issue(instance=instance, label="only-demo", days=1, actor=None, spaces=["DEMO"])
    error_of(post_bundle(bearer_client(scoped.secret), small_zip(), spaceId="DOCS"), 403, "space_forbidden", "spaceId")


def test_a_numeric_space_outside_the_scope_is_403_too(instance, standin):
    scoped = token_issue(instance=instance, label="only-demo", days=1, actor=None, spaces=["DEMO"])
    docs_id = str(standin.state.space_by_key["DOCS"])
    error_of(post_bundle(bearer_client(scoped.secret), small_zip(), spaceId=docs_id), 403, "space_forbidden")


def test_an_unknown_space_is_404(api):
    error_of(post_bundle(api, small_zip(), spaceId="NOPE"), 404, "space_not_found", "spaceId")


def test_an_unknown_parent_is_404(api):
    error_of(post_bundle(api, small_zip(), parentId="999999999"), 404, "parent_not_found", "parentId")


def test_a_parent_in_another_space_is_404(api, standin):
    demo_home = str(standin.state.spaces[standin.state.space_by_key["DEMO"]].homepage_id)
    error_of(post_bundle(api, small_zip(), parentId=demo_home), 404, "parent_not_found", "parentId")


# --------------------------------------------------------------------------- rate limit, idempotency


def test_the_tokens_rate_limit_answers_429_with_retry_after(api, settings):
    settings.PUBLICATION_RATE_LIMIT_PER_MINUTE = 2
    assert post_bundle(api, small_zip()).status_code == 202
    assert post_bundle(api, small_zip()).status_code == 202
    response = post_bundle(api, small_zip())
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Publication.objects.count() == 2


def test_same_idempotency_key_and_body_answers_with_the_same_publication(api):
    first = post_bundle(api, small_zip(), headers={"HTTP_IDEMPOTENCY_KEY": "deploy-1"})
    again = post_bundle(api, small_zip(), headers={"HTTP_IDEMPOTENCY_KEY": "deploy-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["publicationId"] == again.json()["publicationId"]
    assert first["Location"] == again["Location"]
    assert Publication.objects.count() == 1


def test_same_idempotency_key_with_another_bundle_is_409(api):
    assert post_bundle(api, small_zip(), headers={"HTTP_IDEMPOTENCY_KEY": "deploy-1"}).status_code == 202
    other = make_zip({"docs/README.md": b"# Other\n"})
    response = post_bundle(api, other, headers={"HTTP_IDEMPOTENCY_KEY": "deploy-1"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    changed_field = post_bundle(api, small_zip(), dryRun="true", headers={"HTTP_IDEMPOTENCY_KEY": "deploy-1"})
    assert changed_field.json()["error"]["code"] == "idempotency_conflict"
    assert Publication.objects.count() == 1


def test_a_bad_idempotency_key_is_invalid_request(api):
    error_of(post_bundle(api, small_zip(), headers={"HTTP_IDEMPOTENCY_KEY": "x" * 256}), 400, "invalid_request", "Idempotency-Key")


# ---------------------------------------------------------------------------------------- reading


def test_accepted_answers_202_with_location_and_queues_one_task(api):
    from django_tasks_db.models import DBTaskResult

    response = post_bundle(api, small_zip(), sourceRef="docs@abc123", dryRun="true")
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "queued" and body["dryRun"] is True
    assert response["Location"] == f"/api/v1/publications/{body['publicationId']}"
    assert body["url"].endswith(response["Location"])
    task = DBTaskResult.objects.get(task_path="publications.tasks.publication_run_task")
    assert task.args_kwargs["args"] == [body["publicationId"]]
    # and the sweep that will notice if its worker dies, queued once however many publications are
    assert DBTaskResult.objects.filter(task_path="publications.tasks.publications_sweep_task").count() == 1
    post_bundle(api, small_zip(), sourceRef="docs@abc124")
    assert DBTaskResult.objects.filter(task_path="publications.tasks.publications_sweep_task").count() == 1
    shown = api.get(response["Location"]).json()
    assert shown["state"] == "queued" and shown["sourceRef"] == "docs@abc123" and shown["spaceKey"] == "DOCS"
    assert shown["progress"] == {"done": 0, "total": 0}


def test_an_unknown_or_another_instances_publication_is_404(api, standin):
    other = make_instance("other", url=standin.url)
    other_api = bearer_client(token_issue(instance=other, label="other-ci", days=1, actor=None).secret)
    location = post_bundle(other_api, small_zip())["Location"]
    assert api.get(location).json()["error"]["code"] == "publication_not_found"
    assert api.get(location).status_code == 404
    assert api.get("/api/v1/publications/not-a-uuid").status_code == 404


def test_the_list_is_the_instances_own_newest_first_and_paginated(api, standin):
    ids = [post_bundle(api, small_zip(), sourceRef=f"docs@{n}").json()["publicationId"] for n in range(3)]
    page = api.get("/api/v1/publications", {"limit": 2}).json()
    assert [p["publicationId"] for p in page["results"]] == ids[::-1][:2]
    rest = api.get(page["next"]).json()
    assert [p["publicationId"] for p in rest["results"]] == ids[:1]
    assert api.get("/api/v1/publications", {"state": "bogus"}).json()["error"]["code"] == "invalid_request"
    assert len(api.get("/api/v1/publications", {"state": "queued"}).json()["results"]) == 3


def test_markdown_that_is_not_utf8_is_refused_and_named(api):
    error = error_of(post_bundle(api, make_zip({"a.md": b"# A", "latin.md": "# Caf\xe9".encode("latin-1")})), 400,
                     "bundle_invalid", "bundle")
    assert "latin.md" in error["message"]


def test_a_cycle_of_declared_parents_is_refused(api):
    files = {"a.md": b"---\nparent: b.md\n---\n# A\n", "b.md": b"---\nparent: a.md\n---\n# B\n"}
    error = error_of(post_bundle(api, make_zip(files)), 400, "bundle_invalid", "bundle")
    assert "a.md" in error["message"] or "b.md" in error["message"]

"""The audit log in the admin: read-only for everyone, searchable, and exportable as CSV."""

import csv
import io

import pytest

from imports.models import ImportRecord
from tests.imports.conftest import post_import

pytestmark = pytest.mark.django_db

DOC = {"spaceId": "DOCS", "pageTitle": "Admin view", "content": "Body"}


@pytest.fixture
def records(api, standin):
    post_import(api, DOC)
    post_import(api, {**DOC, "pageTitle": "=HYPERLINK(\"http://evil\")"})
    post_import(api, {**DOC, "pageTitle": "Empty one", "content": " "})
    return ImportRecord.objects.all()


def test_superusers_can_look_but_not_add_change_or_delete(admin_client, records):
    record = records.filter(status="succeeded").first()
    changelist = admin_client.get("/admin/imports/importrecord/")
    assert changelist.status_code == 200
    html = changelist.content.decode()
    assert "Admin view" in html and "Export CSV" in html
    assert "Add import record" not in html
    detail = admin_client.get(f"/admin/imports/importrecord/{record.pk}/change/")
    assert detail.status_code == 200
    assert record.page_url in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()
    assert admin_client.post(f"/admin/imports/importrecord/{record.pk}/change/", {"title": "x"}).status_code == 403
    assert admin_client.get(f"/admin/imports/importrecord/{record.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/imports/importrecord/add/").status_code == 403


def test_filters_and_search(admin_client, records):
    rejected = admin_client.get("/admin/imports/importrecord/", {"status__exact": "rejected"}).content.decode()
    assert "content_empty" in rejected and "Admin view" not in rejected
    record = records.filter(status="succeeded", title="Admin view").get()
    found = admin_client.get("/admin/imports/importrecord/", {"q": record.page_id}).content.decode()
    assert "Admin view" in found


def test_csv_export_follows_the_filters_and_defuses_formulas(admin_client, records):
    response = admin_client.get("/admin/imports/importrecord/export.csv", {"status__exact": "succeeded"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2
    assert {row["status"] for row in rows} == {"succeeded"}
    assert "'=HYPERLINK(\"http://evil\")" in {row["title"] for row in rows}


def test_people_without_view_permission_cannot_export(client, django_user_model, records):
    user = django_user_model.objects.create_user("clerk", password="pw-12345-long", is_staff=True)
    client.force_login(user)
    assert client.get("/admin/imports/importrecord/export.csv").status_code == 403

"""The publications admin without a browser: the list and its filters, a publication's page, the progress view the
page's script polls, and the refusals of the archive action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from publications.models import Publication, PublishedPage
from tests.publications.archives import make_zip
from tests.publications.conftest import post_bundle, small_zip
from tests.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_list_filters_and_a_publication_shows_its_pages_with_links(admin_client, api, standin):
    post_bundle(api, small_zip(), sourceRef="docs@1")
    run_queued_tasks()
    post_bundle(api, small_zip(), sourceRef="docs@2", dryRun="true")  # stays queued
    done = Publication.objects.get(source_ref="docs@1")

    listing = admin_client.get("/admin/publications/publication/", {"state__exact": "succeeded"}).content.decode()
    assert "docs@1" in listing and "docs@2" not in listing
    assert 'class="publication-progress"' in listing

    page = admin_client.get(reverse("admin:publications_publication_change", args=[done.pk])).content.decode()
    first = done.pages.get(path="docs/README.md")
    assert f'href="{first.page_url}"' in page
    assert reverse("admin:imports_importrecord_change", args=[first.import_record_id]) in page
    assert "publications/progress.js" not in page  # a finished publication is not polled

    progress = admin_client.get(reverse("admin:publications_publication_progress", args=[done.pk])).json()
    assert progress["state"] == "succeeded" and progress["finished"] is True
    assert progress["done"] == progress["total"] == 2
    assert {p["status"] for p in progress["pages"]} == {"created"}
    queued = Publication.objects.get(source_ref="docs@2")
    assert "publications/progress.js" in admin_client.get(reverse("admin:publications_publication_change", args=[queued.pk])).content.decode()


def test_only_orphans_are_archived_and_only_by_those_allowed(admin_client, client, django_user_model, api, standin):
    files = {"notes/README.md": b"# Notes\n", "notes/old.md": b"# Old note\n"}
    post_bundle(api, make_zip(files), sourceRef="notes@1")
    run_queued_tasks()
    del files["notes/old.md"]
    post_bundle(api, make_zip(files), sourceRef="notes@2")
    run_queued_tasks()
    old = PublishedPage.objects.get(title="Old note")
    kept = PublishedPage.objects.get(title="Notes")
    url = "/admin/publications/publishedpage/"

    response = admin_client.post(url, {"action": "archive_in_confluence", "_selected_action": [old.pk, kept.pk]},
                                 follow=True)
    text = response.content.decode()
    assert "Archived in Confluence: Old note" in text
    assert "Notes: not archived — only orphans not yet archived can be archived here." in text
    assert standin.state.pages[int(old.page_id)].status == "archived"
    assert standin.state.pages[int(kept.page_id)].status == "current"

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_publishedpage"))
    client.force_login(viewer)
    assert "archive_in_confluence" not in client.get(url).content.decode()

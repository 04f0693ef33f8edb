"""The directory in the admin, as an admin sees it: read-only lists, a page's views, sync runs, "Run a sync", the
report, and the two pieces the Instance admin shows (the action and the last sync)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.urls import reverse

from directory.admin import last_sync_display, sync_directory
from directory.models import Page, SyncRun
from directory.services import sync_run
from imports.models import ImportRecord
from tests.tasks import run_queued_tasks
from tokens.models import Instance


@pytest.fixture
def synced(instance, standin):
    return sync_run(instance=instance)


def test_pages_list_filters_by_space_and_status_and_searches_titles(admin_client, synced, standin):
    url = reverse("admin:directory_page_changelist")
    demo = Page.objects.filter(space__key="DEMO").first()

    page = admin_client.get(url, {"space__id__exact": demo.space_id, "q": "Seeded page 1"})

    text = page.content.decode()
    assert page.status_code == 200
    assert "Seeded page 1<" in text or "Seeded page 1</" in text
    assert "Seeded page 2<" not in text  # a DOCS page: filtered out by space
    assert "Add page" not in text  # read-only
    gone = admin_client.get(url, {"status__exact": "gone"}).content.decode()
    assert "0 pages" in gone


def test_a_page_shows_its_views_viewers_and_a_link_to_confluence(admin_client, synced, standin):
    record = standin.state.pages[max(standin.state.page_ids)]
    page = Page.objects.get(page_id=str(record.id))

    text = admin_client.get(reverse("admin:directory_page_change", args=[page.pk])).content.decode()

    assert record.title in text
    assert f"<div class=\"readonly\">{record.views}</div>" in text
    assert f"<div class=\"readonly\">{record.viewers}</div>" in text
    assert f'href="{page.web_url}"' in text
    assert "Save" not in text


def test_users_list_says_when_an_email_is_hidden_and_searches_names(admin_client, synced, standin):
    hidden = next(u for u in standin.state.users.values() if not u.email_visible)

    text = admin_client.get(reverse("admin:directory_confluenceuser_changelist"), {"q": hidden.display_name}).content.decode()

    assert hidden.display_name in text
    assert "hidden by the user&#x27;s privacy settings" in text


@pytest.mark.django_db(transaction=True)  # the worker runs in autocommit, as in production
def test_run_a_sync_from_the_admin_and_see_its_result(admin_client, instance, standin):
    form = admin_client.get(reverse("admin:directory_syncrun_run"))
    assert form.status_code == 200
    assert "Run the sync" in form.content.decode()

    queued = admin_client.post(reverse("admin:directory_syncrun_run"), {"instance": instance.pk, "spaces": "DOCS"}, follow=True)

    run = SyncRun.objects.get()
    assert queued.redirect_chain[-1][0] == reverse("admin:directory_syncrun_change", args=[run.pk])
    waiting = queued.content.decode()
    assert "The sync of acme is queued" in waiting
    assert "waiting for a background worker" in waiting
    assert '<meta http-equiv="refresh"' in waiting  # the page follows the run without the browser waiting on it

    run_queued_tasks()

    done = admin_client.get(reverse("admin:directory_syncrun_change", args=[run.pk]))
    text = done.content.decode()
    assert "Sync of acme succeeded in" in text
    assert '<meta http-equiv="refresh"' not in text
    assert "30 pages (30 new, 0 changed, 0 gone)" in text
    listing = admin_client.get(reverse("admin:directory_syncrun_changelist")).content.decode()
    assert "Run a sync" in listing and "succeeded" in listing


@pytest.mark.django_db(transaction=True)  # the worker runs in autocommit, as in production
def test_a_failed_sync_shows_what_to_fix(admin_client, instance, standin):
    standin.fail(403, op="getViews", times=100)

    admin_client.post(reverse("admin:directory_syncrun_run"), {"instance": instance.pk})
    run_queued_tasks()

    text = admin_client.get(reverse("admin:directory_syncrun_change", args=[SyncRun.objects.get().pk])).content.decode()
    assert "Sync of acme finished with problems" in text
    assert "analytics need the service account to be a Confluence Administrator" in text


def test_staff_without_the_permission_cannot_run_a_sync(client, django_user_model, instance):
    staff = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(staff)

    assert client.get(reverse("admin:directory_syncrun_run")).status_code == 403


def test_the_report_lists_the_most_viewed_pages_and_those_the_portal_published(admin_client, synced, standin, instance):
    state = standin.state
    top = min(state.pages.values(), key=lambda p: (-p.views, -p.viewers, p.title))
    published = state.pages[min(state.page_ids)]
    ImportRecord.objects.create(
        request_id="r1", instance=instance, token_hint="pt_…x", title=published.title, page_id=str(published.id),
        operation=ImportRecord.Operation.CREATED, status=ImportRecord.Status.SUCCEEDED,
    )
    ImportRecord.objects.create(  # a failed import published nothing
        request_id="r2", instance=instance, token_hint="pt_…x", page_id=str(top.id),
        operation=ImportRecord.Operation.UPDATED, status=ImportRecord.Status.FAILED,
    )

    text = admin_client.get(reverse("admin:directory_page_report"), {"instance": instance.pk}).content.decode()

    most_viewed, _, portal = text.partition("<h2>Most-viewed pages</h2>")[2].partition("Pages the portal published")
    rows = most_viewed.partition("<tbody>")[2].split("</tr>")
    assert f">{top.title}<" in rows[0]
    assert f"<td>{top.views}</td>" in most_viewed
    assert f">{published.title}<" in portal
    assert "created" in portal
    assert f">{top.title}<" not in portal


@pytest.mark.django_db(transaction=True)  # the worker runs in autocommit, as in production
def test_the_instance_admin_shows_the_last_sync_and_can_run_one(admin_user, instance, standin):
    instance_admin = admin.ModelAdmin(Instance, admin.site)
    assert "never" in last_sync_display(instance_admin, instance)

    request = RequestFactory().post("/admin/tokens/instance/")
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)
    sync_directory(instance_admin, request, Instance.objects.filter(pk=instance.pk))

    shown = [str(m) for m in get_messages(request)]
    assert shown[0].startswith("The sync of acme is queued")
    assert SyncRun.objects.get().status == SyncRun.Status.QUEUED
    run_queued_tasks()
    field = last_sync_display(instance_admin, instance)
    assert "succeeded, 60 pages, 20 users, no problems" in field
    assert reverse("admin:directory_syncrun_change", args=[SyncRun.objects.get().pk]) in field

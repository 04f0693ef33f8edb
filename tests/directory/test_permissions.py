"""Each permission problem is explained in words that say what to fix, and the parts that can run still do."""

from __future__ import annotations

from directory.models import ConfluenceUser, Page, PageActivity, SyncRun
from directory.services import sync_run

from .conftest import make_instance


def test_refused_credentials_fail_the_run_and_say_to_check_email_and_token(db, standin, fake_sleep):
    instance = make_instance(url=standin.url, api_token="not-the-right-token")

    run = sync_run(instance=instance)

    assert run.status == SyncRun.Status.FAILED
    assert len(run.errors) == 1
    assert run.errors[0].startswith("Confluence refused the credentials (401): check the instance's service account email and API token")
    assert run.finished_at is not None
    assert run.requests_made == 1  # nothing else is tried once the credentials are refused
    assert not Page.objects.exists()


def test_users_refused_says_which_permission_and_the_rest_continues(instance, standin):
    standin.fail(403, op="searchUser")

    run = sync_run(instance=instance)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.errors == [
        "Users could not be listed (403): the service account needs the Confluence Administrator role or "
        "user-management permission (Atlassian Administration > Products > Confluence > Admins). "
        "Users were skipped; pages and views continued."
    ]
    assert not ConfluenceUser.objects.exists()
    assert Page.objects.count() == 60
    assert PageActivity.objects.count() == 60


def test_users_bulk_refused_is_explained_the_same_way(instance, standin):
    standin.fail(403, op="createBulkUserLookup")

    run = sync_run(instance=instance)

    assert run.status == SyncRun.Status.PARTIAL
    assert "needs the Confluence Administrator role or user-management permission" in run.errors[0]


def test_analytics_refused_asks_for_confluence_administrator_and_pages_are_kept(instance, standin):
    standin.fail(403, op="getViews", times=1000)

    run = sync_run(instance=instance)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.errors == [
        "Page views could not be read (403): analytics need the service account to be a Confluence "
        "Administrator. Views and viewers were skipped for the rest of this run."
    ]
    assert Page.objects.count() == 60
    assert ConfluenceUser.objects.count() == 20
    assert not PageActivity.objects.exists()
    # Once refused, the run stops asking: no 60 pages x 2 doomed calls.
    assert standin.stats()["operations"]["getViews"] < 10


def test_a_space_that_cannot_be_read_is_named_and_skipped(instance, standin):
    sync_run(instance=instance)
    standin.fail(403, op="getPages")  # the first space listed: DEMO

    run = sync_run(instance=instance)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.errors == [
        'Space DEMO (Demo) could not be read (403): give the service account the space permission "View" '
        "(Space settings > Permissions), or leave the space out. The space was skipped."
    ]
    assert (run.spaces_seen, run.spaces_skipped) == (1, 1)
    # An unreadable space is not an empty one: its pages are not marked gone.
    assert run.pages_gone == 0
    assert not Page.objects.filter(status=Page.Status.GONE).exists()


def test_an_unknown_space_key_is_named_and_skipped(instance, standin):
    run = sync_run(instance=instance, spaces=["DOCS", "NOPE"])

    assert run.status == SyncRun.Status.PARTIAL
    assert run.errors == [
        "Space NOPE was not found, or the service account may not see it: check the key and the space's "
        '"View" permission. It was skipped.'
    ]
    assert run.spaces_seen == 1
    assert Page.objects.count() == 30

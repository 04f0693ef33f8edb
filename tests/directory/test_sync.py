"""A full sync: every space's pages, the users and page views land in the directory, and the run says so."""

from __future__ import annotations

from directory.models import ConfluenceUser, Page, PageActivity, Space, SyncRun
from directory.services import sync_run


def test_a_sync_fetches_spaces_pages_users_and_views(instance, standin, lines):
    run = sync_run(instance=instance, progress=lines)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.errors == []
    assert sorted(Space.objects.values_list("key", flat=True)) == ["DEMO", "DOCS"]
    assert Page.objects.filter(instance=instance).count() == 60 == run.pages_seen == run.pages_created
    assert ConfluenceUser.objects.filter(instance=instance).count() == 20 == run.users_seen
    assert PageActivity.objects.count() == 60 == run.activity_fetched

    # What Confluence holds is what the directory shows.
    state = standin.state
    record = state.pages[max(state.page_ids)]
    page = Page.objects.get(page_id=str(record.id))
    assert (page.title, page.version, page.status) == (record.title, record.version, "current")
    assert page.space.key == state.spaces[record.space_id].key
    assert page.parent_id == str(record.parent_id)
    assert page.author_id == record.author_id
    assert page.created_at == record.created_at.replace(microsecond=record.created_at.microsecond // 1000 * 1000)
    assert page.web_url.startswith(standin.url) and f"/pages/{record.id}/" in page.web_url
    assert (page.activity.views, page.activity.viewers) == (record.views, record.viewers)

    user = ConfluenceUser.objects.get(account_id=next(u for u in state.user_order if state.users[u].account_status == "active"))
    assert user.account_status == "active"

    # The fewest requests the API allows: 1 page of pages per space, 1 user search, 1 users-bulk, 2 per page;
    # plus the one space listing.
    assert run.requests_made == 2 + 1 + 1 + 2 * 60 + 1
    assert run.requests_made == standin.stats()["requests"]

    text = lines.text()
    assert "pages of DEMO (Demo): 30 so far" in text
    assert "users: 20 so far" in text
    assert lines[-1].startswith("Sync of acme succeeded in ")
    assert "60 pages (60 new, 0 changed, 0 gone), 20 users (20 new, 0 changed)" in lines[-1]


def test_only_the_spaces_named_are_synced(instance, standin):
    run = sync_run(instance=instance, spaces=["DOCS"])

    assert run.status == SyncRun.Status.SUCCEEDED
    assert list(Space.objects.values_list("key", flat=True)) == ["DOCS"]
    assert set(Page.objects.values_list("space__key", flat=True)) == {"DOCS"}
    assert run.spaces_requested == ["DOCS"]

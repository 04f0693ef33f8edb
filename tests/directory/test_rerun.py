"""Running the sync again with nothing changed in Confluence writes nothing; a change writes only what changed."""

from __future__ import annotations

from directory.models import ConfluenceUser, Page, PageActivity, SyncRun
from directory.services import sync_run

from .conftest import data_writes


def test_a_second_run_with_nothing_changed_writes_nothing(instance, standin, capture_queries, lines):
    first = sync_run(instance=instance)
    before = {p.pk: p.changed_at for p in Page.objects.all()}

    with capture_queries() as queries:
        second = sync_run(instance=instance, progress=lines)

    assert second.status == SyncRun.Status.SUCCEEDED
    assert data_writes(queries) == []
    assert second.rows_written == 0
    assert (second.pages_seen, second.pages_created, second.pages_updated, second.pages_gone) == (60, 0, 0, 0)
    assert (second.users_created, second.users_updated, second.activity_written) == (0, 0, 0)
    assert {p.pk: p.changed_at for p in Page.objects.all()} == before
    assert second.requests_made == first.requests_made
    assert "0 rows written" in lines[-1]


def test_a_changed_page_user_and_view_count_are_written_alone(instance, standin):
    sync_run(instance=instance)
    state = standin.state
    record = state.pages[max(state.page_ids)]
    state.retitle(record, "Renamed in Confluence")
    record.version += 1
    record.views += 5
    user = state.users[state.user_order[3]]
    user.display_name = "Someone Else"

    run = sync_run(instance=instance)

    assert (run.pages_created, run.pages_updated, run.users_updated, run.activity_written) == (0, 1, 1, 1)
    assert run.rows_written == 3
    page = Page.objects.get(page_id=str(record.id))
    assert (page.title, page.version) == ("Renamed in Confluence", record.version)
    assert PageActivity.objects.get(page=page).views == record.views
    assert ConfluenceUser.objects.get(account_id=user.account_id).display_name == "Someone Else"

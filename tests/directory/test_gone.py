"""A page deleted in Confluence is marked gone, not silently kept; it comes back if Confluence lists it again."""

from __future__ import annotations

from directory.models import Page, SyncRun
from directory.services import sync_run


def test_a_deleted_page_is_marked_gone(instance, standin, lines):
    sync_run(instance=instance)
    state = standin.state
    record = state.pages[max(state.page_ids)]
    state.trash(record)

    run = sync_run(instance=instance, progress=lines)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.pages_gone == 1
    page = Page.objects.get(page_id=str(record.id))
    assert page.status == Page.Status.GONE
    assert page.gone_at is not None
    assert Page.objects.exclude(status=Page.Status.GONE).count() == 59
    assert any("1 no longer in Confluence, marked gone" in line for line in lines)
    assert "1 gone" in lines[-1]

    # Gone stays gone without further writes, and a restored page is current again.
    assert sync_run(instance=instance).rows_written == 0
    record.status = "current"
    state.titles[(record.space_id, record.title)] = record.id
    again = sync_run(instance=instance)
    page.refresh_from_db()
    assert (page.status, page.gone_at) == ("current", None)
    assert again.pages_updated == 1

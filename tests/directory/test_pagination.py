"""Pages stream through v2's cursor 250 at a time: across many pages, and at exact page boundaries no request is
wasted on an empty last page."""

from __future__ import annotations

import pytest

from directory.models import Page, SyncRun
from directory.services import sync_run

from .conftest import make_instance


@pytest.mark.parametrize(
    ("per_space", "requests_per_space"),
    [(250, 1), (500, 2), (251, 2), (749, 3)],
    ids=["exactly-250", "exactly-500", "one-past-a-page", "many-pages"],
)
def test_every_page_is_fetched_with_the_fewest_page_requests(db, make_standin, fake_sleep, per_space, requests_per_space):
    standin = make_standin(pages=per_space * 2, spaces=2, users=5)
    instance = make_instance(url=standin.url)

    # One space is enough to see the cursor at work, and halves the analytics calls this test waits for.
    run = sync_run(instance=instance, spaces=["DOCS"])

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.pages_seen == per_space
    docs = standin.state.space_by_key["DOCS"]
    stored = set(Page.objects.filter(space__key="DOCS").values_list("page_id", flat=True))
    assert stored == {str(page_id) for page_id in standin.state.space_page_ids[docs]}
    operations = standin.stats()["operations"]
    assert operations["getPages"] == requests_per_space
    assert operations["getViews"] == operations["getViewers"] == per_space

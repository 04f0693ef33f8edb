"""A 429 in the middle of a run is waited out as Confluence asks, and the run completes with nothing lost."""

from __future__ import annotations

from directory.models import Page, PageActivity, SyncRun
from directory.services import sync_run

from .conftest import make_instance


def test_a_429_mid_run_backs_off_and_the_run_completes(db, make_standin, fake_sleep):
    standin = make_standin(pages=1000, spaces=2, users=20)
    instance = make_instance(url=standin.url)
    injected: list[str] = []

    def progress(line: str) -> None:
        # After the first 250 pages are in, Confluence starts rate limiting the page listing and the analytics.
        if line.startswith("pages of DEMO (Demo): 250 so far") and not injected:
            standin.fail(429, retry_after=3, op="getPages")
            standin.fail(429, retry_after=2, op="getViewers", times=2)
            injected.append(line)

    run = sync_run(instance=instance, spaces=["DEMO"], progress=progress)

    assert injected
    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert Page.objects.count() == 500
    assert PageActivity.objects.count() == 500
    # Retry-After is the minimum wait; jitter only adds.
    assert sorted(fake_sleep.sleeps) == [2.0, 2.0, 3.0]
    # The three refused requests are the only extra ones.
    assert run.requests_made == 2 + 1 + 1 + 2 * 500 + 1 + 3


def test_429_past_every_retry_is_recorded_and_the_rest_continues(instance, standin, fake_sleep):
    standin.fail(429, retry_after=1, op="getPages", times=13)  # the first try and all 12 guided retries: DEMO is lost

    run = sync_run(instance=instance)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.errors == [
        "Space DEMO (Demo) could not be fully read: Confluence kept answering 429 (rate limited) after every "
        "retry; run the sync again later. Its remaining pages were skipped."
    ]
    assert set(Page.objects.values_list("space__key", flat=True)) == {"DOCS"}
    assert run.users_seen == 20

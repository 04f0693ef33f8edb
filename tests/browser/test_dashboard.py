"""In a real browser: the dashboard on the admin start page shows what the database holds, and its links lead there."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count
from django.utils import timezone

from imports.models import ImportRecord
from tests.factories import make_instance
from tokens.models import Token
from tokens.services import license_set, token_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = ImportRecord.Status


def add_records(instance, count: int, *, hours_ago: float, status: str, error_code: str = "", duration_ms: int = 120):
    at = timezone.now() - dt.timedelta(hours=hours_ago)
    ImportRecord.objects.bulk_create(
        ImportRecord(instance=instance, received_at=at, status=status, error_code=error_code,
                     duration_ms=duration_ms, title=f"{status} page {n}")
        for n in range(count)
    )


def counts_since(instance, since: dt.datetime) -> dict[str, int]:
    rows = ImportRecord.objects.filter(instance=instance, received_at__gte=since).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def interpolated(ordered: list[int], fraction: float) -> float:
    """The percentile with linear interpolation between ranks (PostgreSQL's percentile_cont)."""
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def test_the_dashboard_shows_the_databases_numbers(admin_page, live_server, screenshot) -> None:
    page = admin_page
    acme = make_instance("acme")
    today = timezone.localdate()
    license_set(instance=acme, reference="LIC-acme", valid_from=today - dt.timedelta(days=300),
                valid_until=today + dt.timedelta(days=9), active=True, actor=None)
    for label, days in [("ci-docs", 3), ("ci-site", 14), ("nightly", 30)]:
        token_issue(instance=acme, label=label, days=days, actor=None)
    add_records(acme, 12, hours_ago=1, status=S.SUCCEEDED)
    add_records(acme, 3, hours_ago=2, status=S.REJECTED, error_code="title_exists", duration_ms=15)
    add_records(acme, 2, hours_ago=30, status=S.FAILED, error_code="confluence_unavailable", duration_ms=3000)
    add_records(acme, 9, hours_ago=24 * 12, status=S.SUCCEEDED)
    add_records(acme, 1, hours_ago=24 * 12, status=S.REPLAYED)

    page.goto(f"{live_server.url}/admin/")
    board = page.locator(f"#dashboard-{acme.pk}")
    assert board.locator("h2").inner_text().startswith("acme")

    # License: 10 days left (today counts), in the warning colour.
    license_card = board.locator("[data-figure=license]")
    assert "active, 10 days left" in license_card.inner_text()
    assert "portal-level-warning" in license_card.get_attribute("class")

    live = Token.objects.live().filter(instance=acme).count()
    assert board.locator("[data-figure=live-tokens] .portal-dash-big").inner_text() == f"{live} / 50"
    assert board.locator("[role=meter]").get_attribute("aria-valuenow") == str(live)
    assert board.locator("[data-figure=expiring-tokens]").inner_text() == "1 expiring within 7 days"

    now = timezone.now()
    for window, since in [("day", now - dt.timedelta(days=1)), ("week", now - dt.timedelta(days=7)),
                          ("month", now - dt.timedelta(days=30))]:
        expected = counts_since(acme, since)
        for status in (S.SUCCEEDED, S.REJECTED, S.FAILED, S.REPLAYED):
            cell = board.locator(f"tr[data-status={status}] td[data-window={window}]")
            assert cell.inner_text() == str(expected.get(status, 0)), (window, status)
        assert board.locator(f"tr[data-status=total] td[data-window={window}]").inner_text() == str(
            sum(expected.values())
        )

    # The chart is an image with a name, and its numbers are in a table too.
    chart = board.get_by_role("img", name="Imports per day, last 30 days")
    assert chart.count() == 1
    assert len(board.locator("svg rect.portal-status-succeeded").all()) == 2  # two days with successes
    board.locator("summary", has_text="Imports per day as a table").click()
    assert board.locator(".portal-dash-days tbody tr").count() == 30

    durations = sorted(ImportRecord.objects.filter(instance=acme).values_list("duration_ms", flat=True))
    shown = board.locator("[data-figure=durations]").inner_text()
    assert f"p50 {round(interpolated(durations, 0.5))} ms" in shown
    assert f"p95 {round(interpolated(durations, 0.95))} ms" in shown
    assert f"{len(durations)} finished imports" in shown
    assert "never synced" in board.locator("[data-figure=last-sync]").inner_text()
    screenshot(page, "dashboard")

    # The most frequent error leads to the audit log filtered to it.
    errors = board.locator("[data-figure=top-errors] li")
    assert errors.nth(0).inner_text().split() == ["title_exists", "3"]
    errors.nth(0).locator("a").click()
    page.wait_for_url("**/admin/imports/importrecord/?*")
    assert "error_code__exact=title_exists" in page.url and f"instance__id__exact={acme.pk}" in page.url
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3
    assert all("title_exists" in text for text in rows.all_inner_texts())


def test_the_dashboard_reads_in_dark_mode(admin_page, live_server, screenshot) -> None:
    page = admin_page
    acme = make_instance("acme")
    add_records(acme, 4, hours_ago=3, status=S.SUCCEEDED)
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server.url}/admin/")
    board = page.locator(f"#dashboard-{acme.pk}")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    bar = board.locator("svg rect.portal-status-succeeded").first
    fill = bar.evaluate("element => getComputedStyle(element).fill")
    assert background != "rgb(255, 255, 255)"  # the admin's dark theme is on
    assert fill == "rgb(102, 187, 106)"  # and the chart uses its dark variant
    screenshot(page, "dashboard-dark")

"""The dashboard on the admin start page: its numbers are the database's, and its cost does not grow with the log."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.models import SyncRun
from imports.models import ImportRecord
from portal.dashboard import instance_dashboards, percentile_from_histogram
from tokens.models import Instance, Token
from tokens.services import instance_create, license_set, token_issue, token_revoke

S = ImportRecord.Status


def make_instance(name: str, *, until_days: int | None = 365, active: bool = True) -> Instance:
    instance = instance_create(
        name=name, base_url=f"https://{name}.atlassian.net", email="bot@example.com", api_token="ATATT-x"
    )
    if until_days is not None:
        today = timezone.localdate()
        license_set(
            instance=instance, reference=f"LIC-{name}", valid_from=today - dt.timedelta(days=400),
            valid_until=today + dt.timedelta(days=until_days), active=active, actor=None,
        )
    return instance


def records(instance: Instance, count: int, *, ago: dt.timedelta, status: str = S.SUCCEEDED,
            error_code: str = "", duration_ms: int | None = 100) -> list[ImportRecord]:
    at = timezone.now() - ago
    return ImportRecord.objects.bulk_create(
        ImportRecord(instance=instance, received_at=at, status=status, error_code=error_code,
                     duration_ms=duration_ms, title=f"page {n}")
        for n in range(count)
    )


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    client.force_login(user)
    return client


def section(html: str, instance: Instance) -> str:
    match = re.search(rf'<section[^>]*id="dashboard-{instance.pk}".*?</section>', html, re.S)
    assert match, f"no dashboard section for {instance.name}"
    return match.group(0)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def window_cell(html: str, status: str, window: str) -> str:
    row = re.search(rf'<tr data-status="{status}">(.*?)</tr>', html, re.S).group(1)
    return text(re.search(rf'data-window="{window}">(.*?)</td>', row, re.S).group(1))


def test_the_start_page_shows_each_instances_numbers_as_in_the_database(admin_client, db) -> None:
    acme = make_instance("acme", until_days=20)
    make_instance("globex", until_days=None)
    for label, days in [("ci-one", 3), ("ci-two", 7), ("ci-three", 30)]:
        token_issue(instance=acme, label=label, days=days, actor=None)
    revoked = token_issue(instance=acme, label="ci-gone", days=2, actor=None)
    token_revoke(token=revoked.token, actor=None)

    records(acme, 3, ago=dt.timedelta(hours=2))
    records(acme, 2, ago=dt.timedelta(hours=3), status=S.REJECTED, error_code="title_exists", duration_ms=10)
    records(acme, 4, ago=dt.timedelta(days=3), status=S.FAILED, error_code="confluence_unavailable", duration_ms=900)
    records(acme, 5, ago=dt.timedelta(days=20))
    records(acme, 1, ago=dt.timedelta(days=20), status=S.REJECTED, error_code="title_exists", duration_ms=12)
    records(acme, 7, ago=dt.timedelta(days=40))  # outside every window

    html = admin_client.get("/admin/").content.decode()
    board = section(html, acme)

    assert "active, 21 days left" in text(board)  # today counts: the license's last day is 20 days away
    assert "portal-level-warning" in re.search(r'<div class="portal-dash-card [^"]*" data-figure="license"', board).group(0)
    assert "3 / 50" in text(board)
    assert "2 expiring within 7 days" in text(board)  # ci-one and ci-two; the revoked one no longer counts

    assert window_cell(board, "succeeded", "day") == "3"
    assert window_cell(board, "rejected", "day") == "2"
    assert window_cell(board, "failed", "day") == "0"
    assert window_cell(board, "failed", "week") == "4"
    assert window_cell(board, "succeeded", "month") == "8"
    assert window_cell(board, "rejected", "month") == "3"
    assert window_cell(board, "total", "day") == "5"
    assert window_cell(board, "total", "week") == "9"
    assert window_cell(board, "total", "month") == "15"

    # The chart's text fallback holds every day; the days with imports carry their counts.
    today = timezone.localdate()
    day_rows = re.findall(r"<tr><th scope=\"row\">(\d{4}-\d\d-\d\d)</th>(.*?)</tr>", board, re.S)
    assert len(day_rows) == 30 and day_rows[-1][0] == f"{today:%Y-%m-%d}"
    totals = {day: int(re.findall(r'<td class="portal-num">(\d+)</td>', cells)[-1]) for day, cells in day_rows}
    assert totals[f"{timezone.localdate(timezone.now() - dt.timedelta(days=20)):%Y-%m-%d}"] == 6
    assert sum(totals.values()) in (15, 14)  # 15 unless the 30-day window's oldest hours fall before the first bar
    assert "<svg" in board and "<title" in board and 'role="img"' in board

    # Errors, most frequent first, each linking to the audit log filtered to it.
    errors = re.findall(r'<li><a href="([^"]+)"><code>([a-z_]+)</code></a> <span class="portal-num">(\d+)</span>', board)
    assert [(code, int(n)) for _, code, n in errors] == [("confluence_unavailable", 4), ("title_exists", 3)]
    assert unescape(errors[1][0]) == (
        f"/admin/imports/importrecord/?error_code__exact=title_exists&instance__id__exact={acme.pk}"
    )

    durations = sorted([100] * 8 + [10] * 2 + [12] + [900] * 4)
    assert f"p50 {round(percentile_from_histogram([(d, 1) for d in durations], 0.5))} ms" in text(board)
    assert "p95 900 ms" in text(board)
    assert "never synced" in text(board)


def test_lapsed_and_missing_licenses_are_shown_in_alarm(admin_client, db) -> None:
    lapsed = make_instance("lapsed", until_days=-3)
    bare = make_instance("bare", until_days=None)
    off = make_instance("off", active=False)
    html = admin_client.get("/admin/").content.decode()
    for instance, words in [(lapsed, "lapsed on"), (bare, "no license"), (off, "switched off")]:
        board = section(html, instance)
        assert words in text(board)
        card = re.search(r'<div class="portal-dash-card ([^"]*)" data-figure="license"', board).group(1)
        assert card == "portal-level-alarm"


def test_the_last_directory_sync_is_shown(admin_client, db) -> None:
    acme = make_instance("acme")
    SyncRun.objects.create(instance=acme, started_at=timezone.now() - dt.timedelta(days=2), status="failed")
    SyncRun.objects.create(
        instance=acme, started_at=timezone.now() - dt.timedelta(hours=1), finished_at=timezone.now(),
        status=SyncRun.Status.SUCCEEDED, pages_seen=12, users_seen=3,
    )
    board = text(section(admin_client.get("/admin/").content.decode(), acme))
    assert "1 hour ago" in board
    assert "succeeded, 12 pages, 3 users" in board


def test_the_number_of_queries_does_not_grow_with_instances_or_records(admin_client, db) -> None:
    first = make_instance("first")
    records(first, 3, ago=dt.timedelta(hours=1), status=S.FAILED, error_code="confluence_unavailable")
    SyncRun.objects.create(instance=first, status=SyncRun.Status.SUCCEEDED)  # else the sync look-up is skipped
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get("/admin/").status_code == 200

    for n in range(5):
        instance = make_instance(f"more-{n}")
        token_issue(instance=instance, label="ci-main", days=3, actor=None)
        SyncRun.objects.create(instance=instance, status=SyncRun.Status.SUCCEEDED)
        for day in range(0, 30, 3):
            records(instance, 20, ago=dt.timedelta(days=day, hours=1), duration_ms=50 + day)
            records(instance, 5, ago=dt.timedelta(days=day, hours=2), status=S.REJECTED, error_code=f"code_{day}")
    with CaptureQueriesContext(connection) as large:
        assert admin_client.get("/admin/").status_code == 200

    assert len(large) == len(small), [q["sql"][:120] for q in large.captured_queries]


def test_the_dashboard_itself_takes_five_queries(db, django_assert_max_num_queries) -> None:
    for n in range(3):
        instance = make_instance(f"site-{n}")
        records(instance, 10, ago=dt.timedelta(hours=n + 1))
        records(instance, 2, ago=dt.timedelta(days=n + 1), status=S.REJECTED, error_code="title_exists")
        SyncRun.objects.create(instance=instance, status=SyncRun.Status.SUCCEEDED)
    with django_assert_max_num_queries(5):
        boards = instance_dashboards()
        assert [board.windows[2].total for board in boards] == [12, 12, 12]
        assert all(board.last_sync and board.top_errors[0].count == 2 for board in boards)


def test_an_auditor_sees_the_dashboard_but_no_way_to_run_anything(client, django_user_model, db) -> None:
    acme = make_instance("acme")
    user = django_user_model.objects.create_user("audit", password="pw-audit-123", is_staff=True)
    user.groups.add(Group.objects.get(name="auditor"))
    client.force_login(user)
    board = section(client.get("/admin/").content.decode(), acme)
    assert "0 / 50" in text(board)
    assert "Imports by outcome" in board  # the group may read the audit log (imports migration 0002)
    assert "Run a sync" not in board  # seeing is not running


def test_import_figures_need_the_permission_to_read_the_audit_log(client, django_user_model, db) -> None:
    acme = make_instance("acme")
    user = django_user_model.objects.create_user("tokens-only", password="pw-tokens-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_instance"))
    client.force_login(user)
    board = section(client.get("/admin/").content.decode(), acme)
    assert "0 / 50" in text(board)
    assert "Imports by outcome" not in board and "Most frequent errors" not in board


def test_a_user_without_instance_permission_gets_the_plain_start_page(client, django_user_model, db) -> None:
    make_instance("acme")
    user = django_user_model.objects.create_user("nobody", password="pw-nobody-123", is_staff=True)
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "portal-dashboard" not in response.content.decode()


def test_no_instance_yet_invites_to_add_one(admin_client, db) -> None:
    html = admin_client.get("/admin/").content.decode()
    assert "No Confluence instance yet" in html
    assert "/admin/tokens/instance/add/" in html


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [([1, 2, 3, 4], 0.5, 2.5), ([5], 0.95, 5.0), (list(range(1, 101)), 0.95, 95.05), ([1, 1, 1, 10], 0.95, 8.65)],
)
def test_percentiles_from_a_histogram_interpolate_like_postgresql(values, fraction, expected) -> None:
    histogram = sorted({v: values.count(v) for v in values}.items())
    assert percentile_from_histogram(histogram, fraction) == pytest.approx(expected)


def test_tokens_expired_are_neither_live_nor_expiring(db) -> None:
    acme = make_instance("acme")
    issued = token_issue(instance=acme, label="ci-old", days=1, actor=None)
    Token.objects.filter(pk=issued.token.pk).update(
        created_at=timezone.now() - dt.timedelta(days=3), expires_at=timezone.now() - dt.timedelta(days=2)
    )
    (board,) = instance_dashboards()
    assert (board.live_tokens, board.expiring_tokens) == (0, 0)

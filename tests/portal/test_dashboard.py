"""The dashboard on the admin start page: its numbers are the database's, and its cost does not grow with the log."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter, defaultdict
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.dashboard import percentile_from_histogram
from directory.models import SyncRun
from imports.models import AuditDay, ImportRecord
from imports.selectors import SUB_BUCKETS, _duration_bucket, percentile_from_buckets
from imports.services import audit_rollup_forget, imports_abandon_stale
from portal.dashboard import instance_dashboards
from tests.factories import make_instance
from tokens.models import Instance, Token
from tokens.services import token_issue, token_revoke

S = ImportRecord.Status


def records(instance: Instance, count: int, *, ago: dt.timedelta, status: str = S.SUCCEEDED, error_code: str = "",
            duration_ms: int | None = 100, before: dt.datetime | None = None) -> list[ImportRecord]:
    """`count` records received `ago` before `before` (default: now)."""
    received_at = (before or timezone.now()) - ago
    return ImportRecord.objects.bulk_create(
        ImportRecord(instance=instance, received_at=received_at, status=status, error_code=error_code,
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
    make_instance("globex", licensed=False)
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
    # Whatever the hour: every record counted is at most 20 days old, well inside the 30 bars (the edge between the
    # 30-day window and the first bar is test_the_30_day_window_reaches_into_the_day_before_the_first_bar's).
    assert sum(totals.values()) == 15
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
    bare = make_instance("bare", licensed=False)
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
    with CaptureQueriesContext(connection) as small_cold:  # the first view stores the closed days
        assert admin_client.get("/admin/").status_code == 200
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get("/admin/").status_code == 200

    for n in range(5):
        instance = make_instance(f"more-{n}")
        token_issue(instance=instance, label="ci-main", days=3, actor=None)
        SyncRun.objects.create(instance=instance, status=SyncRun.Status.SUCCEEDED)
        for day in range(0, 30, 3):
            records(instance, 20, ago=dt.timedelta(days=day, hours=1), duration_ms=50 + day)
            records(instance, 5, ago=dt.timedelta(days=day, hours=2), status=S.REJECTED, error_code=f"code_{day}")
    audit_rollup_forget()  # records written into past days after they were stored: a backfill
    with CaptureQueriesContext(connection) as large_cold:
        assert admin_client.get("/admin/").status_code == 200
    with CaptureQueriesContext(connection) as large:
        assert admin_client.get("/admin/").status_code == 200

    assert len(large_cold) == len(small_cold), [q["sql"][:120] for q in large_cold.captured_queries]
    assert len(large) == len(small), [q["sql"][:120] for q in large.captured_queries]
    assert len(large) == len(large_cold) - 1  # the upsert of the closed days


def test_the_dashboard_itself_takes_five_queries(db, django_assert_max_num_queries) -> None:
    for n in range(3):
        instance = make_instance(f"site-{n}")
        records(instance, 10, ago=dt.timedelta(hours=n + 1))
        records(instance, 2, ago=dt.timedelta(days=n + 1), status=S.REJECTED, error_code="title_exists")
        SyncRun.objects.create(instance=instance, status=SyncRun.Status.SUCCEEDED)
    for queries in (6, 5):  # the first view also stores the closed days it aggregated
        with django_assert_max_num_queries(queries):
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


# ----------------------------------------------------------------------------------------- the rollup of closed days


def reference(at: dt.datetime) -> dict[int, dict]:
    """What the dashboard must show, computed in Python from every row (local days from zoneinfo)."""
    starts = {"month": at - dt.timedelta(days=30), "week": at - dt.timedelta(days=7), "day": at - dt.timedelta(days=1)}
    today = timezone.localdate(at)
    figures: dict[int, dict] = defaultdict(lambda: {"windows": defaultdict(Counter), "days": Counter(),
                                                    "errors": Counter(), "durations": []})
    for record in ImportRecord.objects.filter(received_at__gte=starts["month"]):
        mine = figures[record.instance_id]
        for key, start in starts.items():
            if record.received_at >= start:
                mine["windows"][key][record.status] += 1
        day = timezone.localdate(record.received_at)
        if today - dt.timedelta(days=29) <= day <= today:
            mine["days"][day] += 1
        if record.error_code:
            mine["errors"][record.error_code] += 1
        if record.duration_ms is not None:
            mine["durations"].append(record.duration_ms)
    return figures


def assert_as_reference(at: dt.datetime) -> None:
    expected = reference(at)
    for board in instance_dashboards(at):
        mine = expected[board.instance.pk]
        for window in board.windows:
            assert {o.status: o.count for o in window.outcomes if o.count} == dict(mine["windows"][window.key]), window
        assert {d.day: d.total for d in board.days if d.total} == dict(mine["days"])
        assert {e.code: e.count for e in board.top_errors} == dict(mine["errors"].most_common(5))
        durations = sorted(mine["durations"])
        assert board.durations_counted == len(durations)
        for shown, fraction in ((board.p50_ms, 0.5), (board.p95_ms, 0.95)):
            exact = percentile_from_histogram(sorted(Counter(durations).items()), fraction)
            assert shown == pytest.approx(exact, rel=1 / SUB_BUCKETS, abs=0.5)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_stored_days_and_live_rows_add_up_to_the_database_across_day_boundaries(db, zone) -> None:
    """Random records over 32 days, around local midnights and a daylight-saving change: first view (aggregating
    and storing the closed days) and repeat views (reading them) both equal a count of every row."""
    rng = random.Random(zone)
    with timezone.override(ZoneInfo(zone)):
        # Noon, local, on a day whose 30-day window holds a daylight-saving change where the zone has them.
        at = dt.datetime(2026, 3, 20, 12, 0, tzinfo=ZoneInfo(zone))
        sites = [make_instance("acme"), make_instance("globex")]
        rows = []
        for n in range(1500):
            if n % 3 == 0:  # a second either side of a local midnight
                midnight = dt.datetime.combine(at.date() - dt.timedelta(days=rng.randrange(33)), dt.time.min,
                                               tzinfo=ZoneInfo(zone))
                received_at = midnight + dt.timedelta(seconds=rng.choice([-1, 0, 1]))
            else:
                received_at = at - dt.timedelta(seconds=rng.randrange(32 * 86400))
            status, code = rng.choice([(S.SUCCEEDED, ""), (S.REJECTED, "title_exists"), (S.FAILED, "confluence_unavailable"),
                                       (S.REPLAYED, ""), (S.ABANDONED, "abandoned")])
            rows.append(ImportRecord(instance=rng.choice(sites), received_at=received_at, status=status, error_code=code,
                                     duration_ms=None if status == S.ABANDONED else int(rng.lognormvariate(6, 0.8))))
        # The window's edges to the microsecond.
        for delta in (dt.timedelta(days=30), dt.timedelta(days=7), dt.timedelta(days=1)):
            for nudge in (-1, 0, 1):
                rows.append(ImportRecord(instance=sites[0], received_at=at - delta + dt.timedelta(microseconds=nudge),
                                         status=S.SUCCEEDED, duration_ms=77))
        ImportRecord.objects.bulk_create(rows)

        assert_as_reference(at)  # cold: aggregates the closed days and stores them
        assert AuditDay.objects.filter(zone=zone, settled=True).count() == 30  # and the first, partly in
        assert_as_reference(at)  # warm: reads them
        assert_as_reference(at + dt.timedelta(hours=7))  # later the same day: other window edges, same stored days
        assert_as_reference(at + dt.timedelta(days=1, hours=3))  # the next day: one more day to store


def test_a_closed_day_with_imports_in_progress_is_counted_again_once_they_are_abandoned(db) -> None:
    acme = make_instance("acme")
    records(acme, 4, ago=dt.timedelta(days=3), status=S.RECEIVED, duration_ms=None)
    records(acme, 6, ago=dt.timedelta(days=3))
    (board,) = instance_dashboards()
    assert {o.status: o.count for o in board.windows[1].outcomes if o.count} == {S.SUCCEEDED: 6, S.RECEIVED: 4}
    day = timezone.localdate(timezone.now() - dt.timedelta(days=3))
    assert not AuditDay.objects.get(day=day).settled  # stored, but aggregated again on the next view

    assert imports_abandon_stale(older_than=dt.timedelta(hours=1)) == 4
    (board,) = instance_dashboards()
    assert {o.status: o.count for o in board.windows[1].outcomes if o.count} == {S.SUCCEEDED: 6, S.ABANDONED: 4}
    assert [(e.code, e.count) for e in board.top_errors] == [("abandoned", 4)]
    assert AuditDay.objects.get(day=day).settled
    assert_as_reference(timezone.now())


def test_todays_records_are_counted_live_after_the_closed_days_are_stored(db) -> None:
    acme = make_instance("acme")
    at = timezone.make_aware(dt.datetime(2026, 5, 10, 12, 0))  # noon: a second ago is today
    records(acme, 5, ago=dt.timedelta(days=2), before=at)
    instance_dashboards(at)
    stored = AuditDay.objects.count()
    records(acme, 3, ago=dt.timedelta(seconds=1), status=S.FAILED, error_code="confluence_unavailable", duration_ms=4000,
            before=at)
    (board,) = instance_dashboards(at)
    assert AuditDay.objects.count() == stored
    assert board.windows[0].total == 3 and board.windows[2].total == 8
    assert (board.days[-1].day, board.days[-1].total) == (dt.date(2026, 5, 10), 3)
    assert (board.days[-3].day, board.days[-3].total) == (dt.date(2026, 5, 8), 5)
    assert board.top_errors[0].code == "confluence_unavailable"
    assert board.p95_ms == 4000
    assert_as_reference(at)


def test_the_30_day_window_reaches_into_the_day_before_the_first_bar(db) -> None:
    """30 times 24 hours back from noon starts at noon of the day before the chart's first bar: imports of that
    afternoon count in the 30-day window (outcomes, errors, durations) but in no bar."""
    acme = make_instance("acme")
    at = timezone.make_aware(dt.datetime(2026, 5, 10, 12, 0))
    records(acme, 2, ago=dt.timedelta(days=30, hours=-1), status=S.REJECTED, error_code="title_exists", duration_ms=7,
            before=at)  # 2026-04-10, 13:00
    records(acme, 4, ago=dt.timedelta(days=30, hours=1), before=at)  # 2026-04-10, 11:00: outside every window
    records(acme, 3, ago=dt.timedelta(days=29, hours=12), before=at)  # 2026-04-11, 00:00: the first bar
    for view in ("first", "repeat"):  # aggregated live, then read from the stored days
        (board,) = instance_dashboards(at)
        assert board.days[0].day == dt.date(2026, 4, 11), view
        assert [(d.day, d.total) for d in board.days if d.total] == [(dt.date(2026, 4, 11), 3)], view
        assert {o.status: o.count for o in board.windows[2].outcomes if o.count} == {S.SUCCEEDED: 3, S.REJECTED: 2}
        assert [(e.code, e.count) for e in board.top_errors] == [("title_exists", 2)], view
        assert (board.durations_counted, board.p50_ms) == (5, 100), view


def test_a_day_is_stored_only_once_closed(db) -> None:
    acme = make_instance("acme")
    with timezone.override(ZoneInfo("Europe/Berlin")):
        midnight = dt.datetime(2026, 5, 10, tzinfo=ZoneInfo("Europe/Berlin"))
        ImportRecord.objects.create(instance=acme, received_at=midnight - dt.timedelta(seconds=2), status=S.SUCCEEDED)
        instance_dashboards(midnight + dt.timedelta(minutes=1))  # yesterday is not closed yet: late inserts may come
        assert not AuditDay.objects.filter(day=dt.date(2026, 5, 9)).exists()
        ImportRecord.objects.create(instance=acme, received_at=midnight - dt.timedelta(seconds=1), status=S.SUCCEEDED)
        (board,) = instance_dashboards(midnight + dt.timedelta(minutes=11))
        assert AuditDay.objects.get(day=dt.date(2026, 5, 9)).data[str(acme.pk)]["status"] == {S.SUCCEEDED: 2}
        assert board.days[-2].total == 2


def bucket_of(duration_ms: int) -> int:
    """The bucketing of imports.selectors, in Python."""
    if duration_ms < 2 * SUB_BUCKETS:
        return duration_ms
    width = 2 ** (duration_ms.bit_length() - 1) // SUB_BUCKETS
    return duration_ms // width * width


@pytest.mark.parametrize("duration", [0, 1, 127, 128, 129, 255, 256, 1000, 4095, 4096, 65_537, 2**31 - 1])
def test_duration_buckets_in_the_database_match_python(db, duration) -> None:
    acme = make_instance("acme")
    records(acme, 1, ago=dt.timedelta(seconds=5), duration_ms=duration)
    bucket = ImportRecord.objects.annotate(b=_duration_bucket()).values_list("b", flat=True).get()
    assert bucket == bucket_of(duration) <= duration
    assert duration - bucket < max(1, bucket / SUB_BUCKETS)


def test_percentiles_from_buckets_spread_each_bucket_between_its_min_and_max() -> None:
    assert percentile_from_buckets({100: [3, 100, 100]}, 0.5) == 100
    assert percentile_from_buckets({256: [2, 258, 260]}, 0.5) == 259
    assert percentile_from_buckets({256: [3, 256, 260]}, 0.5) == 258
    assert percentile_from_buckets({10: [1, 10, 10], 256: [1, 259, 259]}, 0.95) == pytest.approx(10 + 249 * 0.95)
    assert percentile_from_buckets({}, 0.5) is None

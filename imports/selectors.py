"""Reads of the audit log beyond its change list: the rate-limit read of every import, and the figures the admin
dashboard shows, per instance.

However many audit records there are, `audit_figures()` costs a fixed number of queries:

1. the closed days of the last 30 already aggregated (AuditDay, see "the rollup of closed days" below);
2. the audit log of what those days do not answer (today, the partial first day of each window, days not stored yet)
   grouped by (instance, local day, status, error code), with conditional counts for the 24-hour, 7-day and 30-day
   windows;
3. the durations of those same rows as a histogram per (instance, local day), in buckets (exact to 1.6%);
4. only when a closed day was not stored yet: one upsert of the days just aggregated.

A repeat view thus reads a day or two of records however many the month holds; the first view of a day aggregates
the days it misses, in the same queries.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, connections, models
from django.db.models import Case, Count, DateField, Expression, F, Func, Max, Min, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from imports.models import AuditDay, ImportRecord
from portal.sql import convert_row, row_converters

Status = ImportRecord.Status


# ------------------------------------------------------------------------------------------------ the rate limit


def nth_newest_counted_import(*, token_id: int, since: dt.datetime, n: int) -> dt.datetime | None:
    """When the token's ``n``-th newest import received after ``since`` arrived, or None when it has fewer; imports
    refused as rate limited do not count.

    Read through the (token, received_at) index, newest first, on every import: the SQL is built once per process
    (see portal/sql.py), as building and compiling the queryset cost ~0.25 ms against ~0.03 ms for the read.
    """
    using = ImportRecord.objects.db
    sql, converters = _nth_newest_counted_import(connections[using].vendor)
    database = connections[using]
    with database.cursor() as cursor:
        cursor.execute(sql, [token_id, database.ops.adapt_datetimefield_value(since), "rate_limited", n - 1])
        row = cursor.fetchone()
    return None if row is None else convert_row(database, row, converters)[0]


@functools.cache
def _nth_newest_counted_import(vendor: str) -> tuple[str, list]:
    database = connections[ImportRecord.objects.db]
    quote = database.ops.quote_name
    column = {name: quote(ImportRecord._meta.get_field(name).column) for name in ("token", "received_at", "error_code")}
    # Every name comes from the model's metadata, quoted by the backend; every value is a parameter.
    sql = (
        f"SELECT {column['received_at']} FROM {quote(ImportRecord._meta.db_table)} "  # noqa: S608
        f"WHERE {column['token']} = %s AND {column['received_at']} > %s AND NOT ({column['error_code']} = %s) "
        f"ORDER BY {column['received_at']} DESC LIMIT 1 OFFSET %s"
    )
    fields = [(ImportRecord._meta.db_table, ImportRecord._meta.get_field("received_at"))]
    return sql, row_converters(database, fields)


# ----------------------------------------------------------------------------------------- the rollup of closed days
#
# The windows (24 hours, 7 days, 30 days back from now), the days counted one by one (the dashboard's chart) and the
# month's error codes and durations all decompose into local days. A closed day (ended more than CLOSE_GRACE ago, in
# the portal's TIME_ZONE) does not change once its imports have finished: it is aggregated once and kept in AuditDay.
# Each call then reads those rows (one query) and aggregates live only what they cannot answer: today, the shorter
# part of each window's first day (inside it, added; or before it, subtracted from the stored day), and any day not
# yet stored. That is at most two days of rows (today and up to 12 hours per window) instead of thirty, in a fixed
# number of queries whatever is missing:
#
#   the stored days; the live rows grouped by (instance, day, status, error code) with conditional counts per window;
#   the live durations as a histogram per (instance, day); and, when a closed day was missing, one upsert.
#
# A day that still held imports `received` (in progress, or dead and waiting for abandon_stale_imports) is stored as
# not settled and aggregated again on every call until none is left, so an abandoned import is counted as such.
# What this assumes: finished records do not change and records are written at their received_at (the import
# path does both). A backfill into past days must call imports.services.audit_rollup_forget().

ROLLUP_VERSION = 1
CLOSE_GRACE = dt.timedelta(minutes=10)  # a day is closed this long after its end: late inserts of its last second
# Durations are bucketed in the database: exact below 2 x SUB_BUCKETS ms, above it SUB_BUCKETS buckets per power of two,
# so a bucket is at most 1/64 of its lower bound wide. Each bucket keeps its count, min and max; percentiles spread a
# bucket's imports evenly between its min and max, so the error is under 1.6% of the value (exact when a bucket holds
# one distinct duration, unless a subtracted part held some of it) and in practice well under 0.5%
# (bench/dashboard.py measures it).
SUB_BUCKETS = 64
DURATION_BITS = 31  # PositiveIntegerField: below 2**31


@dataclass
class AuditFigures:
    """The audit log's counts per instance: the window keys are "day" (24 hours), "week" (7 days), "month" (30)."""

    windows: dict[int, dict[str, dict[str, int]]]  # instance -> window key -> status -> count
    per_day: dict[int, dict[dt.date, dict[str, int]]]  # instance -> day -> status -> count
    errors: dict[int, dict[str, int]]  # instance -> error code -> count, over the 30-day window
    durations: dict[int, dict[int, list[int]]]  # instance -> bucket -> [count, min, max], over the 30-day window


def audit_figures(*, now: dt.datetime, days: int = 30) -> AuditFigures:
    """The audit log's figures at `now`: counts per window and status, per local day over the `days` ending today,
    per error code and a histogram of durations over 30 days. Stores the closed days it had to aggregate."""
    today = timezone.localdate(now)
    zone = str(timezone.get_current_timezone())
    starts = {key: now - dt.timedelta(days=length) for key, length in (("month", 30), ("week", 7), ("day", 1))}
    oldest = {key: timezone.localdate(start) for key, start in starts.items()}
    first_day = today - dt.timedelta(days=days - 1)
    # Every day of the 30-day window but today (its first is partly inside), and every day counted but today.
    wanted = sorted(
        {oldest["month"] + dt.timedelta(days=n) for n in range(0, (today - oldest["month"]).days)}
        | {first_day + dt.timedelta(days=n) for n in range(days - 1)}
    )
    stored: dict[dt.date, dict] = {}
    if wanted:
        stored = dict(
            AuditDay.objects.filter(
                zone=zone, day__gte=wanted[0], day__lte=wanted[-1], version=ROLLUP_VERSION, settled=True
            ).values_list("day", "data")
        )
    fetch = [day for day in wanted if day not in stored]  # whole days to aggregate now
    store = {day for day in fetch if _day_start(day + dt.timedelta(days=1)) + CLOSE_GRACE <= now}

    # The ranges of received_at to aggregate live: whole missing days, the oldest day of each window from the
    # window's start, and today on (rows dated after now included, as the windows have no upper bound).
    # A window's first day, when stored, is read from its start to its end, or, when that is the longer part, from
    # its beginning to the window's start and subtracted from the stored whole day.
    ranges = [(_day_start(day), _day_start(day + dt.timedelta(days=1))) for day in fetch]
    subtract: set[str] = set()
    for key, start in starts.items():
        if oldest[key] < today and oldest[key] not in fetch:
            begin, end = _day_start(oldest[key]), _day_start(oldest[key] + dt.timedelta(days=1))
            if oldest[key] in stored and start - begin < end - start:
                subtract.add(key)
                ranges.append((begin, start))
            else:
                ranges.append((start, end))
    # An upper bound however far: with an open range SQLite's planner may prefer another index over received_at's.
    ranges.append((_day_start(today), dt.datetime(9999, 1, 1, tzinfo=dt.UTC)))
    ranges.sort(key=lambda r: r[0])
    merged: list[list] = []
    for low, high in ranges:
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    # One SELECT per range, in a UNION ALL: an OR of ranges makes SQLite scan the whole table instead of the index.
    parts = [
        ImportRecord.objects.filter(received_at__gte=low, received_at__lt=high).order_by()
        for low, high in merged
    ]
    day = _local_day(merged[0][0], now)

    def each_range(grouped: Callable[[QuerySet], QuerySet]) -> Iterable:
        queries = [grouped(part) for part in parts]
        return queries[0].union(*queries[1:], all=True) if len(queries) > 1 else queries[0]

    windows: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    per_day: dict[int, dict[dt.date, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    errors: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    durations: dict[int, dict[int, list[int]]] = defaultdict(dict)
    computed: dict[dt.date, dict[str, dict]] = defaultdict(dict)
    settled: dict[dt.date, bool] = dict.fromkeys(store, True)

    def computed_for(on: dt.date, instance_id: int) -> dict:
        return computed[on].setdefault(str(instance_id), {"status": {}, "errors": {}, "durations": {}})

    def add_bucket(into: dict[int, list[int]], bucket: int, n: int, low: int, high: int) -> None:
        known = into.get(bucket)
        if known is None:
            into[bucket] = [n, low, high]
        else:
            known[0] += n
            known[1] = min(known[1], low)
            known[2] = max(known[2], high)

    # 1. Live counts. A live row counts in a window unless its day comes from a stored row for that window.
    rows = each_range(
        lambda records: records.annotate(day=day)
        .values("instance_id", "day", "status", "error_code")
        .annotate(
            whole=Count("pk"),
            month=Count("pk", filter=Q(received_at__gte=starts["month"])),
            week=Count("pk", filter=Q(received_at__gte=starts["week"])),
            day_count=Count("pk", filter=Q(received_at__gte=starts["day"])),
        )
        .values_list("instance_id", "day", "status", "error_code", "whole", "month", "week", "day_count")
    )
    # The ranges are disjoint, but a day may span two of them (ranges end at a window's start): add up.
    for instance_id, on, status, code, whole, month, week, day_count in rows:
        row = {"whole": whole, "month": month, "week": week, "day_count": day_count}
        if on in stored:
            # A partial day at a window's start whose whole is stored: it counts only for windows starting on it,
            # added (the part from the window's start) or subtracted (the part before it) from the stored day.
            for key, count_key in (("month", "month"), ("week", "week"), ("day", "day_count")):
                if on == oldest[key]:
                    if key in subtract:
                        windows[instance_id][key][status] -= row["whole"] - row[count_key]
                        if key == "month" and code:
                            errors[instance_id][code] -= row["whole"] - row["month"]
                    else:
                        windows[instance_id][key][status] += row[count_key]
                        if key == "month" and code:
                            errors[instance_id][code] += row["month"]
            continue
        for key, count_key in (("month", "month"), ("week", "week"), ("day", "day_count")):
            windows[instance_id][key][status] += row[count_key]
        if code and row["month"]:
            errors[instance_id][code] += row["month"]
        if on >= first_day:
            per_day[instance_id][on][status] += row["whole"]
        if on in store:  # whole days: their part before the 30-day window too
            figures = computed_for(on, instance_id)
            figures["status"][status] = figures["status"].get(status, 0) + row["whole"]
            if code:
                figures["errors"][code] = figures["errors"].get(code, 0) + row["whole"]
            if status == Status.RECEIVED:
                settled[on] = False
    # 2. Live durations, bucketed.
    duration_rows = each_range(
        # Every range lies inside the 30-day window (a second bound on received_at misleads SQLite's planner).
        lambda records: records.filter(duration_ms__isnull=False)
        .annotate(
            day=day,
            bucket=_duration_bucket(),
            inside=Case(When(received_at__gte=starts["month"], then=Value(1)), default=Value(0)),
        )
        .values("instance_id", "day", "bucket", "inside")
        .annotate(n=Count("pk"), low=Min("duration_ms"), high=Max("duration_ms"))
        .values_list("instance_id", "day", "bucket", "inside", "n", "low", "high")
    )
    for instance_id, on, bucket, inside, n, low, high in duration_rows:
        if on in stored:
            if on == oldest["month"]:  # the 30-day window's first day: its part before the window is subtracted
                add_bucket(durations[instance_id], bucket, -n if "month" in subtract else n, low, high)
            continue
        if inside:
            add_bucket(durations[instance_id], bucket, n, low, high)
        if on in store:
            add_bucket(computed_for(on, instance_id)["durations"], bucket, n, low, high)

    # 3. The stored days, and those just computed for the next views.
    for on, data in stored.items():
        in_windows = [key for key in starts if oldest[key] < on < today or (on == oldest[key] and key in subtract)]
        for instance_key, figures in data.items():
            instance_id = int(instance_key)
            for status, n in figures["status"].items():
                for key in in_windows:
                    windows[instance_id][key][status] += n
                if on >= first_day:
                    per_day[instance_id][on][status] += n
            if "month" in in_windows:
                for code, n in figures["errors"].items():
                    errors[instance_id][code] += n
                merged_durations = durations[instance_id]
                flat = figures["durations"]
                for index in range(0, len(flat), 4):
                    add_bucket(merged_durations, flat[index], flat[index + 1], flat[index + 2], flat[index + 3])
    if store:
        AuditDay.objects.bulk_create(
            [
                AuditDay(
                    zone=zone, day=on, version=ROLLUP_VERSION, settled=settled[on], computed_at=now,
                    data={
                        instance_key: {
                            "status": figures["status"],
                            "errors": figures["errors"],
                            "durations": [
                                value
                                for bucket in sorted(figures["durations"])
                                for value in (bucket, *figures["durations"][bucket])
                            ],
                        }
                        for instance_key, figures in computed[on].items()
                    },
                )
                for on in sorted(store)
            ],
            update_conflicts=True,
            unique_fields=["zone", "day"],
            update_fields=["version", "settled", "computed_at", "data"],
        )
    return AuditFigures(windows, per_day, errors, durations)


def percentile_from_buckets(buckets: dict[int, list[int]], fraction: float) -> float | None:
    """percentile_cont over a bucketed histogram: the imports of a bucket spread evenly from its min to its max."""
    total = sum(n for n, _, _ in buckets.values())
    if total == 0:
        return None
    position = (total - 1) * fraction
    low_rank = int(position)
    high_rank = min(low_rank + 1, total - 1)
    values: dict[int, float] = {}
    seen = 0
    for bucket in sorted(buckets):
        n, low, high = buckets[bucket]
        for rank in (low_rank, high_rank):
            if rank not in values and rank < seen + n:
                values[rank] = low if n == 1 else low + (high - low) * (rank - seen) / (n - 1)
        if high_rank in values:
            break
        seen += n
    return values[low_rank] + (values[high_rank] - values[low_rank]) * (position - low_rank)


def _duration_bucket() -> Expression:
    """The lower bound of a duration's bucket, as a database expression (integer arithmetic only, both databases)."""
    duration = F("duration_ms")
    branches = [When(duration_ms__lt=2 * SUB_BUCKETS, then=duration)]
    bits = (2 * SUB_BUCKETS).bit_length() - 1
    for shift, top in enumerate(range(bits + 1, DURATION_BITS + 1), start=1):
        width = 2**shift
        branches.append(When(duration_ms__lt=2**top, then=duration / Value(width) * Value(width)))
    return Case(*branches, default=duration, output_field=models.IntegerField())


def _local_day(since: dt.datetime, until: dt.datetime) -> Expression:
    """The local date of `received_at`, as a database expression.

    PostgreSQL truncates natively. On SQLite, Django's TruncDate calls a Python function for every row, which costs
    seconds over a million records; SQLite's own date() with the local UTC offset gives the same answer in C. The
    offset is constant between daylight-saving changes, of which the window holds at most a few: one CASE branch each.
    """
    if connection.vendor != "sqlite":
        return TruncDate("received_at")
    zone = timezone.get_current_timezone()
    segments: list[tuple[dt.datetime, int]] = []  # (from, offset in seconds)
    step = dt.timedelta(minutes=15)  # every zone changes its offset on a quarter hour
    at = since
    while at <= until + step:
        offset = int(at.astimezone(zone).utcoffset().total_seconds())
        if not segments or segments[-1][1] != offset:
            segments.append((at, offset))
        at += step

    def shifted(offset: int) -> Func:
        return Func(F("received_at"), Value(f"{offset:+d} seconds"), function="date", output_field=DateField())

    if len(segments) == 1:
        return shifted(segments[0][1])
    # A change found at `start` happened within the 15 minutes before it; find the exact minute.
    branches = []
    for (_, previous), (start, _offset) in itertools.pairwise(segments):
        change = start - step
        while int(change.astimezone(zone).utcoffset().total_seconds()) == previous:
            change += dt.timedelta(minutes=1)
        branches.append((change, previous))
    return Case(
        *(When(received_at__lt=change, then=shifted(offset)) for change, offset in branches),
        default=shifted(segments[-1][1]),
        output_field=DateField(),
    )


def _day_start(day: dt.date) -> dt.datetime:
    """The first instant of a local day (where midnight does not exist, the transition that replaces it)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())

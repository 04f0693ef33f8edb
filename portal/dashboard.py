"""The admin dashboard: the state of every instance at a glance, aggregated in the database.

However many instances and audit records there are, building the dashboard costs a fixed number of queries:

1. the instances with their license, live-token and expiring-token counts and the id of their last directory sync;
2. those sync runs;
3. the closed days of the last 30 already aggregated (portal.models.DashboardDay, see "the audit log" below);
4. the audit log of what those days do not answer (today, the partial first day of each window, days not stored yet)
   grouped by (instance, local day, status, error code), with conditional counts for the 24-hour, 7-day and 30-day
   windows;
5. the durations of those same rows as a histogram per (instance, local day), in buckets (exact to 1.6%);
6. only when a closed day was not stored yet: one upsert of the days just aggregated.

A repeat view thus reads a day or two of records however many the month holds; the first view of a day aggregates
the days it misses, in the same queries.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db import connection, models
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DateField,
    Expression,
    F,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from directory.models import SyncRun
from imports.models import ImportRecord
from portal.models import DashboardDay
from tokens.models import MAX_LIVE_TOKENS, Instance, License

EXPIRING_TOKEN_DAYS = 7
LICENSE_WARNING_DAYS = 30
CHART_DAYS = 30
TOP_ERRORS = 5

Status = ImportRecord.Status
# Stacking order of the chart, bottom up, and the order of every outcome table: the good news first.
OUTCOMES: list[tuple[str, str]] = [
    (Status.SUCCEEDED, "succeeded"),
    (Status.REPLAYED, "replayed"),
    (Status.REJECTED, "rejected"),
    (Status.FAILED, "failed"),
    (Status.ABANDONED, "abandoned"),
    (Status.RECEIVED, "in progress"),
]
WINDOWS: list[tuple[str, str]] = [("day", "24 hours"), ("week", "7 days"), ("month", "30 days")]


# ----------------------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class LicenseSummary:
    state: str  # active, lapsed, switched off, not yet valid, no license
    days_left: int | None
    level: str  # ok, warning (under 30 days left), alarm (not usable now)
    valid_until: dt.date | None
    pk: int | None = None

    @property
    def text(self) -> str:
        if self.state == "active":
            return f"active, {self.days_left} day{'s' if self.days_left != 1 else ''} left"
        if self.state == "lapsed" and self.valid_until:
            return f"lapsed on {self.valid_until:%Y-%m-%d}"
        return self.state


@dataclass(frozen=True)
class OutcomeCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class WindowCounts:
    key: str
    label: str
    total: int
    outcomes: list[OutcomeCount]


@dataclass(frozen=True)
class DayCounts:
    day: dt.date
    total: int
    outcomes: list[OutcomeCount]


@dataclass(frozen=True)
class ErrorCount:
    code: str
    count: int
    url: str


@dataclass(frozen=True)
class Segment:
    status: str
    label: str
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    day: dt.date
    total: int
    x: float
    width: float
    segments: list[Segment]
    label: str | None  # the date under every 7th bar, so the axis stays readable

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 2)


@dataclass(frozen=True)
class Chart:
    """Geometry of the stacked bar chart, in SVG user units; the template only draws it."""

    width: int
    height: int
    plot_top: int
    plot_bottom: int
    plot_left: int
    scale_max: int
    ticks: list[tuple[int, float]]  # (value, y)
    bars: list[Bar]
    description: str

    @property
    def plot_height(self) -> int:
        return self.plot_bottom - self.plot_top


@dataclass
class InstanceDashboard:
    instance: Instance
    license: LicenseSummary
    live_tokens: int
    max_tokens: int
    expiring_tokens: int
    windows: list[WindowCounts] = field(default_factory=list)
    days: list[DayCounts] = field(default_factory=list)
    chart: Chart | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    durations_counted: int = 0
    top_errors: list[ErrorCount] = field(default_factory=list)
    last_sync: SyncRun | None = None

    @property
    def token_percent(self) -> int:
        return min(100, round(100 * self.live_tokens / self.max_tokens)) if self.max_tokens else 0

    @property
    def token_level(self) -> str:
        if self.live_tokens >= self.max_tokens:
            return "alarm"
        return "warning" if self.live_tokens >= self.max_tokens * 0.8 else "ok"


# ----------------------------------------------------------------------------------------- reads


def license_summary(license: License | None, at: dt.datetime) -> LicenseSummary:
    if license is None:
        return LicenseSummary("no license", None, "alarm", None)
    today = timezone.localdate(at)
    if not license.active:
        return LicenseSummary("switched off", None, "alarm", license.valid_until, license.pk)
    if today < license.valid_from:
        return LicenseSummary("not yet valid", None, "alarm", license.valid_until, license.pk)
    if today > license.valid_until:
        return LicenseSummary("lapsed", 0, "alarm", license.valid_until, license.pk)
    days_left = license.days_left(at)
    level = "warning" if days_left < LICENSE_WARNING_DAYS else "ok"
    return LicenseSummary("active", days_left, level, license.valid_until, license.pk)


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the percentile with linear interpolation, computed by the server."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float, **extra: object) -> None:
        # A literal, not a parameter: it is ours (0.5 or 0.95), and PostgreSQL wants a constant here.
        super().__init__(expression, fraction=f"{float(fraction):.4f}", **extra)


def percentile_from_histogram(histogram: list[tuple[int, int]], fraction: float) -> float | None:
    """percentile_cont over (value, how many) pairs sorted by value: the same answer PostgreSQL gives."""
    total = sum(count for _, count in histogram)
    if total == 0:
        return None
    position = (total - 1) * fraction
    low_rank, high_rank = int(position), min(int(position) + 1, total - 1)
    low = high = None
    seen = 0
    for value, count in histogram:
        if low is None and low_rank < seen + count:
            low = value
        if high_rank < seen + count:
            high = value
            break
        seen += count
    assert low is not None and high is not None
    return low + (high - low) * (position - low_rank)


def exact_durations(since: dt.datetime) -> dict[int, tuple[float | None, float | None, int]]:
    """(p50, p95, how many) of finished imports' durations per instance since `since`, exactly, over every row.

    The dashboard itself merges per-day histograms instead (percentile_from_buckets); the benchmark and the tests
    compare the two."""
    records = ImportRecord.objects.filter(received_at__gte=since, duration_ms__isnull=False).order_by()
    if connection.vendor == "postgresql":
        rows = records.values("instance_id").annotate(
            p50=PercentileCont("duration_ms", 0.5), p95=PercentileCont("duration_ms", 0.95), n=Count("pk")
        )
        return {row["instance_id"]: (row["p50"], row["p95"], row["n"]) for row in rows}
    # One row per distinct duration (at most the longest import in ms, a minute or so), not per import.
    histograms: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = (
        records.values("instance_id", "duration_ms").annotate(n=Count("pk")).order_by("instance_id", "duration_ms")
    )
    for row in rows.iterator(chunk_size=5000):
        histograms[row["instance_id"]].append((row["duration_ms"], row["n"]))
    return {
        instance_id: (
            percentile_from_histogram(histogram, 0.5),
            percentile_from_histogram(histogram, 0.95),
            sum(n for _, n in histogram),
        )
        for instance_id, histogram in histograms.items()
    }


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


# ----------------------------------------------------------------------------------------- the audit log
#
# The windows (24 hours, 7 days, 30 days back from now), the chart (30 local days) and the month's error codes and
# durations all decompose into local days. A closed day (ended more than CLOSE_GRACE ago, in the portal's TIME_ZONE)
# does not change once its imports have finished: it is aggregated once and kept in portal.models.DashboardDay. Each
# view then reads those rows (one query) and aggregates live only what they cannot answer: today, the shorter part
# of each window's first day (inside it, added; or before it, subtracted from the stored day), and any day not yet
# stored. That is at most two days of rows (today and up to 12 hours per window) instead of thirty, in a fixed
# number of queries whatever is missing:
#
#   the stored days; the live rows grouped by (instance, day, status, error code) with conditional counts per window;
#   the live durations as a histogram per (instance, day); and, when a closed day was missing, one upsert.
#
# A day that still held imports `received` (in progress, or dead and waiting for abandon_stale_imports) is stored as
# not settled and aggregated again on every view until none is left, so an abandoned import is counted as such.
# What this assumes: finished records do not change and records are written at their received_at (the import
# path does both). A backfill into past days must call dashboard_rollup_forget().

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
    windows: dict[int, dict[str, dict[str, int]]]  # instance -> window key -> status -> count
    per_day: dict[int, dict[dt.date, dict[str, int]]]  # instance -> day -> status -> count
    errors: dict[int, dict[str, int]]  # instance -> error code -> count, over the 30-day window
    durations: dict[int, dict[int, list[int]]]  # instance -> bucket -> [count, min, max], over the 30-day window


def _duration_bucket() -> Expression:
    """The lower bound of a duration's bucket, as a database expression (integer arithmetic only, both databases)."""
    duration = F("duration_ms")
    branches = [When(duration_ms__lt=2 * SUB_BUCKETS, then=duration)]
    bits = (2 * SUB_BUCKETS).bit_length() - 1
    for shift, top in enumerate(range(bits + 1, DURATION_BITS + 1), start=1):
        width = 2**shift
        branches.append(When(duration_ms__lt=2**top, then=duration / Value(width) * Value(width)))
    return Case(*branches, default=duration, output_field=models.IntegerField())


def bucket_of(duration_ms: int) -> int:
    """The same bucketing in Python (for tests)."""
    if duration_ms < 2 * SUB_BUCKETS:
        return duration_ms
    width = 2 ** (duration_ms.bit_length() - 1) // SUB_BUCKETS
    return duration_ms // width * width


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


def _day_start(day: dt.date) -> dt.datetime:
    """The first instant of a local day (where midnight does not exist, the transition that replaces it)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def dashboard_rollup_forget(days: list[dt.date] | None = None) -> None:
    """Drop the stored days (all, or these), so the next view aggregates them again: after a backfill."""
    rows = DashboardDay.objects.all()
    if days is not None:
        rows = rows.filter(day__in=days)
    rows.delete()


def _audit_log(now: dt.datetime, today: dt.date) -> AuditFigures:
    zone = str(timezone.get_current_timezone())
    starts = {key: now - dt.timedelta(days=days) for key, days in (("month", 30), ("week", 7), ("day", 1))}
    oldest = {key: timezone.localdate(start) for key, start in starts.items()}
    first_day = today - dt.timedelta(days=CHART_DAYS - 1)
    # Every day of the 30-day window but today (its first is partly inside), and every bar of the chart but today's.
    wanted = sorted(
        {oldest["month"] + dt.timedelta(days=n) for n in range(0, (today - oldest["month"]).days)}
        | {first_day + dt.timedelta(days=n) for n in range(CHART_DAYS - 1)}
    )
    stored: dict[dt.date, dict] = {}
    if wanted:
        stored = dict(
            DashboardDay.objects.filter(
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
        DashboardDay.objects.bulk_create(
            [
                DashboardDay(
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


def audit_log_url(**filters: object) -> str:
    return f"{reverse('admin:imports_importrecord_changelist')}?{urlencode(filters)}"


def instance_dashboards(at: dt.datetime | None = None) -> list[InstanceDashboard]:
    """Everything the dashboard shows, for every instance, in five queries (six when it stores a day)."""
    now = at or timezone.now()
    today = timezone.localdate(now)
    month_ago, week_ago, day_ago = (now - dt.timedelta(days=d) for d in (30, 7, 1))

    live = Q(tokens__revoked_at__isnull=True, tokens__expires_at__gt=now)
    last_sync_id = SyncRun.objects.filter(instance=OuterRef("pk")).order_by("-started_at").values("pk")[:1]
    instances = list(
        Instance.objects.select_related("license")
        .annotate(
            live_token_count=Count("tokens", filter=live),
            expiring_token_count=Count(
                "tokens", filter=live & Q(tokens__expires_at__lte=now + dt.timedelta(days=EXPIRING_TOKEN_DAYS))
            ),
            last_sync_id=Subquery(last_sync_id),
        )
        .order_by("name")
    )
    if not instances:
        return []
    syncs = SyncRun.objects.in_bulk([i.last_sync_id for i in instances if i.last_sync_id is not None])

    dashboards = {
        instance.pk: InstanceDashboard(
            instance=instance,
            license=license_summary(getattr(instance, "license", None), now),
            live_tokens=instance.live_token_count,
            max_tokens=MAX_LIVE_TOKENS,
            expiring_tokens=instance.expiring_token_count,
            last_sync=syncs.get(instance.last_sync_id),
        )
        for instance in instances
    }

    audit = _audit_log(now, today)
    first_day = today - dt.timedelta(days=CHART_DAYS - 1)

    for instance_id, board in dashboards.items():
        windows = audit.windows[instance_id]
        board.windows = [
            WindowCounts(key, label, sum(windows[key].values()), _outcomes(windows[key])) for key, label in WINDOWS
        ]
        per_day = audit.per_day[instance_id]
        board.days = [
            DayCounts(day, sum(per_day[day].values()), _outcomes(per_day[day]))
            for day in (first_day + dt.timedelta(days=n) for n in range(CHART_DAYS))
        ]
        board.chart = build_chart(board.days, board.instance.name)
        histogram = audit.durations.get(instance_id)
        if histogram:
            board.p50_ms = percentile_from_buckets(histogram, 0.5)
            board.p95_ms = percentile_from_buckets(histogram, 0.95)
            board.durations_counted = sum(n for n, _, _ in histogram.values())
        ranked = sorted(audit.errors[instance_id].items(), key=lambda item: (-item[1], item[0]))[:TOP_ERRORS]
        board.top_errors = [
            ErrorCount(code, count, audit_log_url(error_code__exact=code, instance__id__exact=instance_id))
            for code, count in ranked
        ]
    return list(dashboards.values())


def _outcomes(counts: dict[str, int]) -> list[OutcomeCount]:
    return [OutcomeCount(status, label, counts.get(status, 0)) for status, label in OUTCOMES]


# ----------------------------------------------------------------------------------------- chart


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value`, so the axis reads in round numbers."""
    if value <= 0:
        return 1
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def build_chart(days: list[DayCounts], name: str, *, width: int = 640, height: int = 180) -> Chart:
    plot_left, plot_top, plot_bottom, plot_right = 44, 8, height - 24, width - 20
    plot_height = plot_bottom - plot_top
    scale_max = _nice_ceiling(max((d.total for d in days), default=0))
    slot = (plot_right - plot_left) / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        y = float(plot_bottom)
        segments = []
        for outcome in day.outcomes:
            if not outcome.count:
                continue
            segment_height = plot_height * outcome.count / scale_max
            y -= segment_height
            segments.append(Segment(outcome.status, outcome.label, outcome.count, round(y, 2), round(segment_height, 2)))
        # Label the last day and every 7th before it, so "today" is always named.
        label = f"{day.day:%b %d}" if (len(days) - 1 - index) % 7 == 0 else None
        bars.append(Bar(day.day, day.total, round(plot_left + index * slot + 1, 2), round(slot - 2, 2), segments, label))
    # 0, the top, and the middle when it is a whole number (1, 5, 50 have none worth reading).
    values = [0, scale_max // 2, scale_max] if scale_max % 2 == 0 else [0, scale_max]
    ticks = [(value, round(plot_bottom - plot_height * value / scale_max, 2)) for value in values]
    total = sum(d.total for d in days)
    busiest = max(days, key=lambda d: d.total, default=None)
    description = f"Imports per day into {name} over the last {len(days)} days, stacked by outcome: {total} in all"
    if busiest and busiest.total:
        description += f"; the busiest day was {busiest.day:%Y-%m-%d} with {busiest.total}"
    return Chart(width, height, plot_top, plot_bottom, plot_left, scale_max, ticks, bars, description + ".")

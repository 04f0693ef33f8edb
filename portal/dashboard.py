"""The admin dashboard: the state of every instance at a glance, composed from what the apps read.

However many instances and audit records there are, building the dashboard costs a fixed number of queries:

1. the instances with their license, live-token and expiring-token counts and the id of their last directory sync;
2. those sync runs;
3. the audit log's figures (imports.selectors.audit_figures): three queries, a fourth when it stores a closed day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from directory.models import SyncRun
from imports.models import ImportRecord
from imports.selectors import audit_figures, percentile_from_buckets
from tokens.models import MAX_LIVE_TOKENS, Instance, License, LicenseState, license_state, live_token_condition

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
    state = license_state(license, at)
    if license is None:
        return LicenseSummary(state.label, None, "alarm", None)
    if state != LicenseState.ACTIVE:
        days = 0 if state == LicenseState.LAPSED else None
        return LicenseSummary(state.label, days, "alarm", license.valid_until, license.pk)
    days_left = license.days_left(at)
    level = "warning" if days_left < LICENSE_WARNING_DAYS else "ok"
    return LicenseSummary("active", days_left, level, license.valid_until, license.pk)


def audit_log_url(**filters: object) -> str:
    return f"{reverse('admin:imports_importrecord_changelist')}?{urlencode(filters)}"


def instance_dashboards(at: dt.datetime | None = None) -> list[InstanceDashboard]:
    """Everything the dashboard shows, for every instance, in five queries (six when it stores a day)."""
    now = at or timezone.now()
    today = timezone.localdate(now)

    live = live_token_condition(now, via="tokens__")
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

    audit = audit_figures(now=now, days=CHART_DAYS)
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

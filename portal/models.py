"""The portal's own tables: the dashboard's rollup of closed days of the audit log."""

from django.db import models


class DashboardDay(models.Model):
    """What the dashboard needs of one closed local day of the audit log, computed once (portal.dashboard).

    `data` maps an instance id to its counts per status, counts per error code and a histogram of durations
    (see portal.dashboard.DashboardDay use). A day holding imports still `received` is stored as not settled and
    computed again on the next view, until they finish or are abandoned; a closed day's finished records do not
    change. Keyed by time zone, so a change of TIME_ZONE computes its own days.
    """

    zone = models.CharField(max_length=64)
    day = models.DateField()
    version = models.PositiveSmallIntegerField()
    settled = models.BooleanField()
    computed_at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "day"], name="dashboard_day_unique_per_zone")]

    def __str__(self) -> str:
        return f"{self.day} ({self.zone})"

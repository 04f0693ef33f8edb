"""The Confluence directory: a copy of an instance's users, spaces, pages and page activity, kept for reporting.

Rows are keyed by (instance, Confluence id), so two Confluence sites never collide and a sync can upsert.
``changed_at`` moves only when a sync actually changed the row: a re-run with nothing new writes nothing, and
"what changed since Tuesday" is a query.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tokens.models import Instance


class SyncRun(models.Model):
    """One run of the directory sync: what it did, what it cost in requests, and every problem it met."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"  # waiting for a background worker
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        # Finished, but some part could not be read (a space, the users, the analytics): see ``errors``.
        PARTIAL = "partial", "finished with problems"
        FAILED = "failed", "failed"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="directory_syncs")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    # The space keys asked for; empty means every space the account can see.
    spaces_requested = models.JSONField(default=list, blank=True)

    spaces_seen = models.PositiveIntegerField(default=0)
    spaces_skipped = models.PositiveIntegerField(default=0)
    pages_seen = models.PositiveIntegerField(default=0)
    pages_created = models.PositiveIntegerField(default=0)
    pages_updated = models.PositiveIntegerField(default=0)
    pages_gone = models.PositiveIntegerField(default=0)
    users_seen = models.PositiveIntegerField(default=0)
    users_created = models.PositiveIntegerField(default=0)
    users_updated = models.PositiveIntegerField(default=0)
    activity_fetched = models.PositiveIntegerField(default=0)
    activity_written = models.PositiveIntegerField(default=0)
    # Directory rows inserted or changed (spaces, pages, users, activity); 0 on a re-run with nothing new.
    rows_written = models.PositiveIntegerField(default=0)
    requests_made = models.PositiveIntegerField(default=0)
    # Readable sentences for the admin ("Space HR (Human resources) could not be read (403) ..."), in order.
    errors = models.JSONField(default=list, blank=True)
    # The sync's latest progress line ("pages of DOCS: 2,500 so far ..."), saved as it runs, with the counts above.
    progress = models.CharField(max_length=500, blank=True)
    # When the running sync last reported (at most a second apart while it works): a run silent for longer than
    # DIRECTORY_SYNC_STALE_AFTER_SECONDS lost its process, and the directory's sweep marks it failed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        indexes = [
            models.Index(fields=["instance", "-started_at"], name="dir_sync_instance_recent_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="dir_sync_status_heartbeat_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.instance} sync at {self.started_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ConfluenceUser(models.Model):
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="directory_users")
    account_id = models.CharField(max_length=128)
    display_name = models.CharField(max_length=255, blank=True)
    # Blank when the user's Atlassian privacy settings hide it: Confluence then leaves it out of every answer.
    email = models.CharField(max_length=255, blank=True)
    account_status = models.CharField(max_length=20, blank=True)  # active, inactive, closed, unknown
    account_type = models.CharField(max_length=20, blank=True)  # atlassian, app, customer
    time_zone = models.CharField(max_length=64, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "Confluence user"
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "account_id"], name="dir_user_unique_per_instance"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.account_id


class Space(models.Model):
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="directory_spaces")
    confluence_id = models.CharField("Confluence id", max_length=32)
    key = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, blank=True)
    homepage_id = models.CharField(max_length=32, blank=True)
    web_url = models.URLField(max_length=1000, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "confluence_id"], name="dir_space_unique_per_instance"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.name})" if self.name and self.name != self.key else self.key


class Page(models.Model):
    class Status(models.TextChoices):
        CURRENT = "current", "current"
        ARCHIVED = "archived", "archived"
        # No longer listed by Confluence (deleted, trashed or moved out of reach); kept with ``gone_at``.
        GONE = "gone", "gone from Confluence"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="directory_pages")
    page_id = models.CharField("Confluence id", max_length=32)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="pages")
    title = models.CharField(max_length=255)
    parent_id = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CURRENT)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField("created in Confluence", null=True, blank=True)
    last_updated_at = models.DateTimeField("last updated in Confluence", null=True, blank=True)
    author_id = models.CharField("author account id", max_length=128, blank=True)
    web_url = models.URLField(max_length=1000, blank=True)
    gone_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["space__key", "title"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "page_id"], name="dir_page_unique_per_instance"),
        ]
        indexes = [
            models.Index(fields=["space", "status"], name="dir_page_space_status_idx"),
            models.Index(fields=["page_id"], name="dir_page_id_idx"),  # the join with the import audit log
        ]

    def __str__(self) -> str:
        return self.title


class PageActivity(models.Model):
    """Views and distinct viewers of a page as v1 analytics reported them at ``fetched_at``.

    ``fetched_at`` is when these numbers were read; a later sync that reads the same numbers leaves the row alone
    (its sync run says when they were last confirmed).
    """

    page = models.OneToOneField(Page, on_delete=models.CASCADE, primary_key=True, related_name="activity")
    views = models.PositiveIntegerField(default=0)
    viewers = models.PositiveIntegerField("distinct viewers", default=0)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "page activity"
        verbose_name_plural = "page activity"
        indexes = [models.Index(fields=["-views"], name="dir_activity_views_idx")]

    def __str__(self) -> str:
        return f"{self.page}: {self.views} views, {self.viewers} viewers"

"""The audit log of imports, its rollup of closed days, and the idempotency keys that make retries safe."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tokens.models import Instance, Token


class ImportRecord(models.Model):
    """One row for every import request that passed authentication, whatever became of it.

    Written as `received` before Confluence is called and finished in a `finally`, so a crash, a
    Confluence failure or a validation error all leave their trace. The Markdown itself is not kept:
    its size and SHA-256 are.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "received"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"  # Confluence or the portal could not do it (5xx, 502, 503)
        REJECTED = "rejected", "rejected"  # the request was refused (4xx)
        REPLAYED = "replayed", "replayed"  # an Idempotency-Key retry answered with the first result
        ABANDONED = "abandoned", "abandoned"  # left as received past the timeout (the process died)

    class Operation(models.TextChoices):
        CREATED = "created", "created"
        UPDATED = "updated", "updated"
        UNCHANGED = "unchanged", "unchanged"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request_id = models.CharField(max_length=128)
    received_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="imports")
    token = models.ForeignKey(Token, null=True, on_delete=models.SET_NULL, related_name="imports")
    token_hint = models.CharField(max_length=20)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    space_key = models.CharField(max_length=255, blank=True)
    space_id = models.CharField(max_length=64, blank=True)
    parent_id = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=255, blank=True)
    operation = models.CharField(max_length=10, choices=Operation.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    confluence_status = models.PositiveSmallIntegerField(null=True, blank=True)
    confluence_message = models.CharField(max_length=1000, blank=True)

    content_bytes = models.PositiveIntegerField(null=True, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    source_ref = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)

    page_id = models.CharField(max_length=64, blank=True)
    page_version = models.PositiveIntegerField(null=True, blank=True)
    page_url = models.URLField(max_length=1000, blank=True)
    # What the page holds after this import (title + storage body); equal hashes mean "unchanged".
    page_hash = models.CharField(max_length=64, blank=True)
    # The page's attachments after this import: {"uploaded": n, "unchanged": n, "removed": n}; empty when the import
    # did not get that far (or was a publication's page write, whose counts live on the publication's page).
    attachments = models.JSONField(default=dict, blank=True)
    # The JSON answered to the client, replayed to an Idempotency-Key retry.
    response_body = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["instance", "-received_at"], name="import_instance_recent_idx"),
            models.Index(fields=["token", "received_at"], name="import_token_recent_idx"),
            models.Index(fields=["status", "received_at"], name="import_status_idx"),
            models.Index(fields=["received_at"], name="import_received_idx"),
            models.Index(fields=["request_id"], name="import_request_id_idx"),
            models.Index(fields=["page_id"], name="import_page_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title or '(no title)'} — {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status != self.Status.RECEIVED


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key, claimed by inserting this row: the unique constraint decides who was first."""

    token = models.ForeignKey(Token, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    record = models.ForeignKey(ImportRecord, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_unique_per_token"),
            models.CheckConstraint(condition=~Q(key=""), name="idempotency_key_not_empty"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key


class AuditDay(models.Model):
    """What the dashboard needs of one closed local day of the audit log, computed once (imports.selectors).

    A cache, recomputed from ImportRecord whenever it is missing. `data` maps an instance id to its counts per
    status, counts per error code and a histogram of durations (flat [bucket, count, min, max, ...]). A day holding
    imports still `received` is stored as not settled and computed again on the next read, until they finish or are
    abandoned; a closed day's finished records do not change. Keyed by time zone, so a change of TIME_ZONE computes
    its own days.
    """

    zone = models.CharField(max_length=64)
    day = models.DateField()
    version = models.PositiveSmallIntegerField()
    settled = models.BooleanField()
    computed_at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["zone", "day"], name="audit_day_unique_per_zone")]

    def __str__(self) -> str:
        return f"{self.day} ({self.zone})"

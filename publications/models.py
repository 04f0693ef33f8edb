"""Publications: a bundle of Markdown files published as a tree of pages, in the background.

`Publication` is one request and its progress; `PublicationPage` what became of each file in it. `PublishedPage`
outlives publications: which page of an instance the portal wrote last, from which tree, at which version and with
which content and attachments. It is what makes a second run cheap (unchanged pages cost one read), what tells a
hand edit in Confluence (drift), and where orphans are found. `InstanceGate` and `InstanceSlot` are the state every
worker process shares per instance: Confluence's backoff after a 429, and the bounded number of pages in flight.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from imports.models import ImportRecord
from tokens.models import Instance, Token


class Publication(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        PARTIAL = "partial", "partial"  # some pages failed or drifted
        FAILED = "failed", "failed"  # nothing could be done, or the run died too often

    class Overwrite(models.TextChoices):
        NO = "false", "false"
        YES = "true", "true"
        FORCE = "force", "force"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="publications")
    token = models.ForeignKey(Token, null=True, blank=True, on_delete=models.SET_NULL, related_name="publications")
    token_hint = models.CharField(max_length=20, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)

    space_key = models.CharField(max_length=255, blank=True)
    space_id = models.CharField(max_length=64, blank=True)
    parent_id = models.CharField("requested parent id", max_length=64, blank=True)
    # Where the tree's root pages go: the parent asked for, else the space homepage.
    root_parent_id = models.CharField(max_length=64, blank=True)
    overwrite = models.CharField(max_length=5, choices=Overwrite.choices, default=Overwrite.NO)
    source_ref = models.CharField(max_length=500, blank=True)
    # sourceRef up to "@" (else all of it): pages published from the same prefix are one tree, for orphans.
    source_prefix = models.CharField(max_length=500, blank=True)
    version_message = models.CharField(max_length=500, blank=True)
    dry_run = models.BooleanField(default=False)

    bundle_bytes = models.PositiveBigIntegerField(default=0)
    bundle_sha256 = models.CharField(max_length=64, blank=True)
    files = models.PositiveIntegerField(default=0)

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker as pages finish and while it waits; a stale one means the worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    broken_links = models.JSONField(default=list, blank=True)
    orphans = models.JSONField(default=list, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=1000, blank=True)
    requests_made = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["token", "idempotency_key"], condition=~Q(idempotency_key=""),
                name="publication_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["instance", "-created_at"], name="pub_instance_recent_idx"),
            models.Index(fields=["token", "created_at"], name="pub_token_recent_idx"),
            models.Index(fields=["state", "heartbeat_at"], name="pub_state_heartbeat_idx"),
        ]

    def __str__(self) -> str:
        what = self.source_ref or f"{self.files} files"
        return f"{what} → {self.space_key or self.space_id} ({self.state}{', dry run' if self.dry_run else ''})"

    @property
    def is_finished(self) -> bool:
        return self.state in {self.State.SUCCEEDED, self.State.PARTIAL, self.State.FAILED}

    @property
    def percent(self) -> int:
        return 100 if self.is_finished else int(100 * self.done / self.total) if self.total else 0


class PublicationBundle(models.Model):
    """The uploaded archive, kept until the publication has finished so any worker on any host can run (or resume) it."""

    publication = models.OneToOneField(Publication, primary_key=True, on_delete=models.CASCADE, related_name="bundle")
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"bundle of {self.publication_id}"


class PublicationPage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        CREATED = "created", "created"
        UPDATED = "updated", "updated"
        UNCHANGED = "unchanged", "unchanged"
        DRIFTED = "drifted", "drifted"
        FAILED = "failed", "failed"

    class Action(models.TextChoices):
        CREATE = "create", "create"
        UPDATE = "update", "update"
        UNCHANGED = "unchanged", "unchanged"
        DRIFTED = "drifted", "drifted"

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="pages")
    order = models.PositiveIntegerField()  # plan order: parents before children
    key = models.CharField(max_length=1000)
    path = models.CharField(max_length=1000, blank=True)
    parent_key = models.CharField(max_length=1000, blank=True)
    title = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    action = models.CharField(max_length=10, choices=Action.choices, blank=True)  # dry runs only
    page_id = models.CharField(max_length=64, blank=True)
    page_url = models.URLField(max_length=1000, blank=True)
    version = models.PositiveIntegerField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    # Set the moment Confluence answers a create, so a resumed run reports the page as created, not unchanged.
    created_page = models.BooleanField(default=False)
    attachments_uploaded = models.PositiveIntegerField(default=0)
    attachments_unchanged = models.PositiveIntegerField(default=0)
    attachments_removed = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=1000, blank=True)
    diff = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The audit record of the page write (the import audit log holds every page write, whoever made it).
    import_record = models.ForeignKey(
        ImportRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="publication_pages"
    )

    class Meta:
        ordering = ["publication", "order"]
        constraints = [models.UniqueConstraint(fields=["publication", "order"], name="publication_page_order_unique")]

    def __str__(self) -> str:
        return f"{self.path or self.key} ({self.status})"



class PublishedPage(models.Model):
    """A Confluence page the portal published, as the portal last wrote it."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="published_pages")
    space_id = models.CharField(max_length=64)
    space_key = models.CharField(max_length=255, blank=True)
    page_id = models.CharField(max_length=64)
    title = models.CharField(max_length=255)
    page_url = models.URLField(max_length=1000, blank=True)
    parent_id = models.CharField(max_length=64, blank=True)
    # The tree it belongs to: the sourceRef prefix and the publication root it was published from, and its path there.
    source_prefix = models.CharField(max_length=500, blank=True)
    root_parent_id = models.CharField(max_length=64, blank=True)
    path = models.CharField(max_length=1000, blank=True)
    version = models.PositiveIntegerField()  # the version the portal last wrote
    content_hash = models.CharField(max_length=64, blank=True)
    # {file name: {"id": attachment id, "sha256": hex}} as last uploaded.
    attachments = models.JSONField(default=dict, blank=True)
    publication = models.ForeignKey(Publication, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    written_at = models.DateTimeField(default=timezone.now)
    # Reported as an orphan by a later publication of its tree (not in that bundle); cleared when published again.
    orphaned_by = models.ForeignKey(
        Publication, null=True, blank=True, on_delete=models.SET_NULL, related_name="orphaned_pages"
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["space_key", "title"]
        constraints = [models.UniqueConstraint(fields=["instance", "page_id"], name="published_page_unique")]
        indexes = [
            models.Index(fields=["instance", "space_id", "title"], name="published_title_idx"),
            models.Index(fields=["instance", "source_prefix"], name="published_prefix_idx"),
            models.Index(fields=["instance", "root_parent_id"], name="published_root_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.space_key or self.space_id})"


class InstanceGate(models.Model):
    """One row per instance: until when every worker must hold its requests, after Confluence answered 429."""

    instance = models.OneToOneField(Instance, primary_key=True, on_delete=models.CASCADE, related_name="+")
    paused_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"gate of instance {self.instance_id}"


class InstanceSlot(models.Model):
    """PUBLICATION_CONCURRENCY_PER_INSTANCE rows per instance; a worker holds one for each page it is writing.

    A holder takes a free (or expired) slot with one conditional UPDATE, which is atomic on SQLite and PostgreSQL
    alike; the lease expires by itself when its worker dies.
    """

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveSmallIntegerField()
    holder = models.CharField(max_length=200, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "number"], name="instance_slot_unique")]

    def __str__(self) -> str:
        return f"slot {self.number} of instance {self.instance_id}"

"""Reads of the directory that the admin, the dashboard and the instance page share."""

from __future__ import annotations

from django.db.models import Count, F, OuterRef, QuerySet, Subquery

from directory.models import Page, SyncRun
from imports.models import ImportRecord
from tokens.models import Instance

# An import that changed Confluence; "unchanged" and failed imports did not publish anything.
PUBLISHING = [ImportRecord.Operation.CREATED, ImportRecord.Operation.UPDATED]


def last_sync(instance: Instance) -> SyncRun | None:
    """The instance's most recent directory sync, finished or still running."""
    return SyncRun.objects.filter(instance=instance).order_by("-started_at").first()


def most_viewed_pages(*, instance: Instance | None = None, limit: int = 25) -> QuerySet[Page]:
    """Pages still in Confluence, most views first (pages never measured are left out)."""
    pages = Page.objects.exclude(status=Page.Status.GONE).filter(activity__isnull=False)
    if instance is not None:
        pages = pages.filter(instance=instance)
    return (
        pages.select_related("space", "instance", "activity")
        .order_by(F("activity__views").desc(), F("activity__viewers").desc(), "title")[:limit]
    )


def pages_published_by_portal(*, instance: Instance | None = None, limit: int = 100) -> QuerySet[Page]:
    """Pages the portal's imports created or updated, joined with the audit log by (instance, page id).

    Each page carries ``last_import_at``, ``last_import_operation``, ``last_import_id`` and ``imports`` (how many
    successful imports created or updated it), newest import first.
    """
    published = ImportRecord.objects.filter(
        instance=OuterRef("instance"),
        page_id=OuterRef("page_id"),
        status=ImportRecord.Status.SUCCEEDED,
        operation__in=PUBLISHING,
    )
    newest = published.order_by("-received_at")
    count = published.order_by().values("page_id").annotate(n=Count("pk")).values("n")
    pages = Page.objects.all() if instance is None else Page.objects.filter(instance=instance)
    return (
        pages.annotate(
            last_import_at=Subquery(newest.values("received_at")[:1]),
            last_import_operation=Subquery(newest.values("operation")[:1]),
            last_import_id=Subquery(newest.values("pk")[:1]),
            imports=Subquery(count[:1]),
        )
        .filter(last_import_at__isnull=False)
        .select_related("space", "instance", "activity")
        .order_by("-last_import_at")[:limit]
    )

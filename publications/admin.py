"""Publications in the admin: read-only, with their pages, filters, a progress bar that follows a running one, and
the pages the portal published, where reviewed orphans are archived in Confluence."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from publications.models import Publication, PublicationPage, PublishedPage
from publications.services import published_pages_archive

ARCHIVE_PERMISSION = "publications.change_publishedpage"


def _link(url: str, text: str) -> str:
    return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, text) if url else "—"


def progress_bar(publication: Publication) -> str:
    return format_html(
        '<progress class="publication-progress" max="{}" value="{}" title="{} of {} pages">{}%</progress> {} / {}',
        max(publication.total, 1), publication.done if publication.total else 0, publication.done, publication.total,
        publication.percent, publication.done, publication.total,
    )


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PublicationPageInline(ReadOnly, admin.TabularInline):
    model = PublicationPage
    fields = ["path", "title", "status_shown", "page_link", "version", "attachments", "problem", "audit"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    @admin.display(description="status")
    def status_shown(self, page: PublicationPage) -> str:
        text = page.status + (f" (would {page.action})" if page.action and page.status == "pending" else "")
        return format_html('<span class="page-status" data-page="{}">{}</span>', page.pk, text)

    @admin.display(description="Confluence page")
    def page_link(self, page: PublicationPage) -> str:
        return format_html(
            '<span class="page-link" data-page="{}">{}</span>', page.pk, _link(page.page_url, page.page_id or "open")
        )

    @admin.display(description="attachments (uploaded / unchanged / removed)")
    def attachments(self, page: PublicationPage) -> str:
        return f"{page.attachments_uploaded} / {page.attachments_unchanged} / {page.attachments_removed}"

    @admin.display(description="problem")
    def problem(self, page: PublicationPage) -> str:
        return f"{page.error_code}: {page.error_message}" if page.error_code else "; ".join(page.warnings or []) or "—"

    @admin.display(description="audit record")
    def audit(self, page: PublicationPage) -> str:
        if page.import_record_id is None:
            return "—"
        url = reverse("admin:imports_importrecord_change", args=[page.import_record_id])
        return format_html('<a href="{}">{}</a>', url, "page write")


@admin.register(Publication)
class PublicationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "instance", "space_key", "source_ref", "state", "dry_run", "progress", "orphan_count",
                    "token_hint"]
    list_filter = ["state", "dry_run", "instance", "space_key", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["source_ref", "=id", "token_hint", "pages__title", "pages__path"]
    date_hierarchy = "created_at"
    list_select_related = ["instance"]
    inlines = [PublicationPageInline]
    change_form_template = "admin/publications/publication/change_form.html"
    fieldsets = [
        ("Request", {"fields": ["id", "instance", "token_hint", "request_id", "client_ip", "idempotency_key",
                                "created_at", "bundle_bytes", "files", "bundle_sha256"]}),
        ("Target", {"fields": ["space_key", "space_id", "root_parent_id", "overwrite", "source_ref", "version_message",
                               "dry_run"]}),
        ("Progress", {"fields": ["started_at", "finished_at", "attempts", "worker",
                                 "requests_made", "error_code", "error_message", "orphan_list", "broken_link_list"]}),
    ]
    readonly_fields = [f for fieldset in fieldsets for f in fieldset[1]["fields"]]

    @admin.display(description="progress")
    def progress(self, publication: Publication) -> str:
        return progress_bar(publication)

    @admin.display(description="orphans")
    def orphan_count(self, publication: Publication) -> int:
        return len(publication.orphans or [])

    @admin.display(description="orphans (pages of this tree no longer in the bundle)")
    def orphan_list(self, publication: Publication) -> str:
        if not publication.orphans:
            return "none"
        review = reverse("admin:publications_publishedpage_changelist") + "?orphaned=yes"
        items = format_html("").join(
            format_html("<li>{} — {}</li>", _link(o.get("url", ""), o.get("title", "")), o.get("path", ""))
            for o in publication.orphans
        )
        return format_html('<ul>{}</ul><a href="{}">Review and archive orphans</a>', items, review)

    @admin.display(description="links that leave the bundle")
    def broken_link_list(self, publication: Publication) -> str:
        if not publication.broken_links:
            return "none"
        return format_html("<ul>{}</ul>", format_html("").join(
            format_html("<li>{}: {}</li>", link.get("path", ""), link.get("href", "")) for link in publication.broken_links
        ))

    def get_urls(self) -> list[URLPattern]:
        progress = path(
            "<uuid:publication_id>/progress.json", self.admin_site.admin_view(self.progress_json),
            name="publications_publication_progress",
        )
        return [progress, *super().get_urls()]

    def progress_json(self, request: HttpRequest, publication_id) -> HttpResponse:
        """What the change page's script polls while a publication runs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        publication = Publication.objects.filter(pk=publication_id).first()
        if publication is None:
            return JsonResponse({"error": "no such publication"}, status=404)
        pages = [
            {"id": page.pk, "status": page.status, "pageId": page.page_id, "url": page.page_url}
            for page in publication.pages.order_by("order")
        ]
        return JsonResponse({
            "state": publication.state, "done": publication.done, "total": publication.total,
            "percent": publication.percent, "finished": publication.is_finished, "pages": pages,
        })


class OrphanedFilter(admin.SimpleListFilter):
    title = "orphaned"
    parameter_name = "orphaned"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "orphaned, not archived"), ("archived", "archived"), ("no", "in its tree")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[PublishedPage]) -> QuerySet[PublishedPage]:
        if self.value() == "yes":
            return queryset.filter(orphaned_by__isnull=False, archived_at__isnull=True)
        if self.value() == "archived":
            return queryset.filter(archived_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(orphaned_by__isnull=True, archived_at__isnull=True)
        return queryset


@admin.register(PublishedPage)
class PublishedPageAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["title", "space_key", "path", "source_prefix", "version", "written_at", "orphan", "archived_at",
                    "confluence_link"]
    list_filter = [OrphanedFilter, "instance", "space_key", "source_prefix"]
    search_fields = ["title", "path", "page_id", "source_prefix"]
    list_select_related = ["orphaned_by"]
    actions = ["archive_in_confluence"]
    readonly_fields = ["instance", "space_key", "space_id", "page_id", "title", "confluence_link", "parent_id",
                       "source_prefix", "root_parent_id", "path", "version", "content_hash", "attachments",
                       "publication", "written_at", "orphaned_by", "archived_at"]
    fields = readonly_fields

    @admin.display(description="orphaned by")
    def orphan(self, page: PublishedPage) -> str:
        if page.orphaned_by_id is None:
            return "—"
        url = reverse("admin:publications_publication_change", args=[page.orphaned_by_id])
        return format_html('<a href="{}">{}</a>', url, f"{page.orphaned_by.created_at:%Y-%m-%d %H:%M}")

    @admin.display(description="in Confluence")
    def confluence_link(self, page: PublishedPage) -> str:
        return _link(page.page_url, "open")

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not request.user.has_perm(ARCHIVE_PERMISSION):
            actions.pop("archive_in_confluence", None)
        return actions

    @admin.action(description="Archive the selected orphans in Confluence")
    def archive_in_confluence(self, request: HttpRequest, queryset: QuerySet[PublishedPage]) -> None:
        if not request.user.has_perm(ARCHIVE_PERMISSION):
            raise PermissionDenied
        chosen = list(queryset.select_related("instance"))
        not_orphans = [page for page in chosen if page.orphaned_by_id is None or page.archived_at is not None]
        for page in not_orphans:
            self.message_user(
                request, f"{page.title}: not archived — only orphans not yet archived can be archived here.",
                messages.WARNING,
            )
        orphans = [page for page in chosen if page not in not_orphans]
        by_instance: dict[int, list[PublishedPage]] = {}
        for page in orphans:
            by_instance.setdefault(page.instance_id, []).append(page)
        for pages in by_instance.values():
            outcome = published_pages_archive(instance=pages[0].instance, pages=pages)
            if outcome.archived:
                self.message_user(
                    request, f"Archived in Confluence: {', '.join(p.title for p in outcome.archived)}.", messages.SUCCESS
                )
            for page, reason in outcome.refused:
                self.message_user(request, f"{page.title}: not archived — {reason}", messages.ERROR)

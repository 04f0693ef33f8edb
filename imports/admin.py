"""The audit log in the admin: read-only for everyone, superusers included, with filters, search and CSV export."""

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from imports.models import ImportRecord

CSV_COLUMNS = [
    ("import id", "id"),
    ("received at", "received_at"),
    ("finished at", "finished_at"),
    ("duration ms", "duration_ms"),
    ("status", "status"),
    ("operation", "operation"),
    ("http status", "http_status"),
    ("error code", "error_code"),
    ("error message", "error_message"),
    ("confluence status", "confluence_status"),
    ("confluence message", "confluence_message"),
    ("instance", "instance__name"),
    ("token hint", "token_hint"),
    ("client ip", "client_ip"),
    ("user agent", "user_agent"),
    ("space key", "space_key"),
    ("space id", "space_id"),
    ("parent id", "parent_id"),
    ("title", "title"),
    ("page id", "page_id"),
    ("page version", "page_version"),
    ("page url", "page_url"),
    ("source ref", "source_ref"),
    ("idempotency key", "idempotency_key"),
    ("content bytes", "content_bytes"),
    ("content sha256", "content_sha256"),
    ("request id", "request_id"),
]


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to spreadsheet programs: titles come from clients.
    if text[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        text = "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin.register(ImportRecord)
class ImportRecordAdmin(admin.ModelAdmin):
    list_display = [
        "received_at", "status", "operation", "title", "space_key", "instance", "token_hint", "http_status",
        "error_code", "duration_ms", "page_link",
    ]
    list_filter = ["status", "instance", "operation", "error_code", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["title", "page_id", "request_id", "token_hint", "=id"]
    date_hierarchy = "received_at"
    list_select_related = ["instance"]
    show_full_result_count = False  # counting a million rows on every page view is slow; the paginator copes
    readonly_fields = ["page_link", *[f.name for f in ImportRecord._meta.fields if f.name != "response_body"]]
    exclude = ["response_body"]
    fieldsets = [
        ("Request", {"fields": ["id", "request_id", "received_at", "finished_at", "duration_ms", "instance", "token",
                                "token_hint", "client_ip", "user_agent", "idempotency_key"]}),
        ("Page", {"fields": ["space_key", "space_id", "parent_id", "title", "page_link", "page_id", "page_version",
                             "source_ref", "content_bytes", "content_sha256", "page_hash", "attachments"]}),
        ("Outcome", {"fields": ["status", "operation", "http_status", "error_code", "error_message",
                                "confluence_status", "confluence_message"]}),
    ]

    @admin.display(description="Confluence page")
    def page_link(self, record: ImportRecord) -> str:
        if not record.page_url:
            return "—"
        return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', record.page_url,
                           record.page_id or "open")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path("export.csv", self.admin_site.admin_view(self.export_csv), name="imports_importrecord_export"),
            *super().get_urls(),
        ]

    def export_csv(self, request: HttpRequest) -> StreamingHttpResponse:
        """The change list's current filters and search, as CSV, streamed so a large log does not fill memory."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request).values_list(*[name for _, name in CSV_COLUMNS])
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow([title for title, _ in CSV_COLUMNS])
            for row in queryset.iterator(chunk_size=2000):
                yield writer.writerow([_csv_cell(value) for value in row])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="imports-{stamp}.csv"'
        return response

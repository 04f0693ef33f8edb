"""The directory in the admin: read-only lists of what the sync fetched, the sync runs, a "Run a sync" page and a
report of the most-viewed pages and of the pages the portal published. Every write goes through ``sync_run``.

``sync_directory`` (an admin action) and ``last_sync_display`` (a read-only field) are for the Instance admin,
which lives in tokens/admin.py and adds them by name.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from directory.models import ConfluenceUser, Page, PageActivity, Space, SyncRun
from directory.selectors import last_sync, most_viewed_pages, pages_published_by_portal
from directory.services import summary, sync_enqueue
from tokens.admin import InstanceAdmin
from tokens.models import Instance

RUN_PERMISSION = "directory.add_syncrun"


def _activity(page: Page) -> PageActivity | None:
    try:
        return page.activity
    except PageActivity.DoesNotExist:
        return None


class ReadOnlyAdmin(admin.ModelAdmin):
    """What Confluence holds is changed in Confluence: the directory only mirrors it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConfluenceUser)
class ConfluenceUserAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "email_shown", "account_status", "account_type", "instance", "changed_at"]
    list_filter = ["instance", "account_status", "account_type"]
    search_fields = ["display_name", "email", "account_id"]
    fields = ["instance", "account_id", "display_name", "email_shown", "account_status", "account_type", "time_zone",
              "first_seen_at", "changed_at"]

    @admin.display(description="email", ordering="email")
    def email_shown(self, user: ConfluenceUser) -> str:
        return user.email or "hidden by the user's privacy settings"


@admin.register(Space)
class SpaceAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "type", "status", "instance", "confluence_link"]
    list_filter = ["instance", "type", "status"]
    search_fields = ["key", "name"]

    @admin.display(description="in Confluence")
    def confluence_link(self, space: Space) -> str:
        return format_html('<a href="{}" target="_blank" rel="noopener">open</a>', space.web_url) if space.web_url else "—"


@admin.register(Page)
class PageAdmin(ReadOnlyAdmin):
    list_display = ["title", "space", "status", "version", "last_updated_at", "views", "viewers", "confluence_link"]
    list_filter = ["instance", "status", "space"]
    search_fields = ["title", "page_id"]
    list_select_related = ["space", "activity"]
    fields = ["instance", "space", "page_id", "title", "status", "gone_at", "version", "parent_id", "created_at",
              "last_updated_at", "author", "views", "viewers", "activity_fetched_at", "confluence_link",
              "first_seen_at", "changed_at"]
    change_list_template = "admin/directory/page/change_list.html"

    @admin.display(description="views", ordering="activity__views")
    def views(self, page: Page) -> int | str:
        activity = _activity(page)
        return activity.views if activity else "—"

    @admin.display(description="distinct viewers", ordering="activity__viewers")
    def viewers(self, page: Page) -> int | str:
        activity = _activity(page)
        return activity.viewers if activity else "—"

    @admin.display(description="views read at")
    def activity_fetched_at(self, page: Page) -> Any:
        activity = _activity(page)
        return activity.fetched_at if activity else "not read yet"

    @admin.display(description="author")
    def author(self, page: Page) -> str:
        user = ConfluenceUser.objects.filter(instance_id=page.instance_id, account_id=page.author_id).first()
        return f"{user} ({page.author_id})" if user else page.author_id or "—"

    @admin.display(description="in Confluence")
    def confluence_link(self, page: Page) -> str:
        if page.status == Page.Status.GONE or not page.web_url:
            return "—"
        return format_html('<a href="{}" target="_blank" rel="noopener">open</a>', page.web_url)

    def get_urls(self) -> list[URLPattern]:
        report = path("report/", self.admin_site.admin_view(self.report_view), name="directory_page_report")
        return [report, *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        instance = _chosen_instance(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Directory report: most-viewed pages and pages the portal published",
            "instances": Instance.objects.order_by("name"),
            "instance": instance,
            "most_viewed": [(page, _activity(page)) for page in most_viewed_pages(instance=instance, limit=25)],
            "published": [(page, _activity(page)) for page in pages_published_by_portal(instance=instance, limit=100)],
            "last_sync": last_sync(instance) if instance else None,
        }
        return TemplateResponse(request, "admin/directory/page/report.html", context)


def _chosen_instance(request: HttpRequest) -> Instance | None:
    raw = request.GET.get("instance", "")
    return Instance.objects.filter(pk=int(raw)).first() if raw.isdigit() else None


class RunSyncForm(forms.Form):
    instance = forms.ModelChoiceField(queryset=Instance.objects.order_by("name"), empty_label=None)
    spaces = forms.CharField(
        required=False,
        label="Space keys",
        help_text="Only these spaces, separated by spaces or commas. Leave empty for every space the account can see.",
    )

    def clean_spaces(self) -> list[str]:
        raw = self.cleaned_data["spaces"].replace(",", " ")
        return [key.strip() for key in raw.split() if key.strip()]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "instance", "status", "duration", "spaces_seen", "pages_seen", "pages_gone",
                    "users_seen", "rows_written", "requests_made", "problems"]
    list_filter = ["instance", "status"]
    date_hierarchy = "started_at"
    fields = ["instance", "status", "progress_shown", "result", "started_at", "heartbeat_shown", "finished_at", "duration",
              "spaces_requested", "spaces_seen",
              "spaces_skipped", "pages_seen", "pages_created", "pages_updated", "pages_gone", "users_seen",
              "users_created", "users_updated", "activity_fetched", "activity_written", "rows_written",
              "requests_made", "error_list"]
    change_list_template = "admin/directory/syncrun/change_list.html"
    change_form_template = "admin/directory/syncrun/change_form.html"

    @admin.display(description="result")
    def result(self, run: SyncRun) -> str:
        return summary(run) if run.finished_at else "—"

    @admin.display(description="progress")
    def progress_shown(self, run: SyncRun) -> str:
        if run.status == SyncRun.Status.QUEUED:
            return "waiting for a background worker (manage.py run_worker)"
        return run.progress or ("starting" if run.status == SyncRun.Status.RUNNING else "—")

    @admin.display(description="last heard from")
    def heartbeat_shown(self, run: SyncRun) -> str:
        # While it runs, how long since it last reported: a growing figure is a sync whose worker died, which the
        # sweep marks failed after DIRECTORY_SYNC_STALE_AFTER_SECONDS.
        if run.heartbeat_at is None:
            return "—"
        if run.status != SyncRun.Status.RUNNING:
            return f"{run.heartbeat_at:%Y-%m-%d %H:%M:%S}"
        seconds = max(0.0, (timezone.now() - run.heartbeat_at).total_seconds())
        return f"{seconds:.0f} s ago (a run silent for {settings.DIRECTORY_SYNC_STALE_AFTER_SECONDS} s is taken to have died)"

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None) -> HttpResponse:
        run = SyncRun.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        busy = run is not None and run.status in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "refresh_seconds": 2 if busy else None})

    @admin.display(description="duration")
    def duration(self, run: SyncRun) -> str:
        seconds = run.duration_seconds
        return "running" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="problems")
    def problems(self, run: SyncRun) -> int:
        return len(run.errors)

    @admin.display(description="problems")
    def error_list(self, run: SyncRun) -> str:
        if not run.errors:
            return "none"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((e,) for e in run.errors)))

    def get_urls(self) -> list[URLPattern]:
        run = path("run/", self.admin_site.admin_view(self.run_view), name="directory_syncrun_run")
        return [run, *super().get_urls()]

    def run_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(RUN_PERMISSION):
            raise PermissionDenied
        initial = {"instance": _chosen_instance(request)} if request.method == "GET" else None
        form = RunSyncForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            run = sync_enqueue(instance=form.cleaned_data["instance"], spaces=form.cleaned_data["spaces"] or None)
            self.message_user(
                request, f"The sync of {run.instance.name} is queued; this page shows its progress.", messages.INFO
            )
            return HttpResponseRedirect(reverse("admin:directory_syncrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Run a directory sync",
            "form": form,
        }
        return TemplateResponse(request, "admin/directory/syncrun/run.html", context)


# ---------------------------------------------------------------------- for the Instance admin


@admin.action(description="Sync the Confluence directory (users, pages, views)")
def sync_directory(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
    """The Instance admin's action: queues a sync of each selected instance, with a link to follow it."""
    if not request.user.has_perm(RUN_PERMISSION):
        model_admin.message_user(request, "You may not run directory syncs (permission: add sync run).", messages.ERROR)
        return
    for instance in queryset.order_by("name"):
        run = sync_enqueue(instance=instance)
        model_admin.message_user(
            request,
            format_html(
                'The sync of {} is queued: <a href="{}">follow its progress</a>.', instance.name,
                reverse("admin:directory_syncrun_change", args=[run.pk]),
            ),
            messages.INFO,
        )


@admin.display(description="last directory sync")
def last_sync_display(model_admin: admin.ModelAdmin, instance: Instance) -> str:
    """The Instance page's read-only field: when the last sync ran, how it went and its counts, with links."""
    if instance.pk is None:
        return "—"
    run = last_sync(instance)
    run_link = reverse("admin:directory_syncrun_run") + f"?instance={instance.pk}"
    if run is None:
        return format_html('never — <a href="{}">run a sync</a>', run_link)
    return format_html(
        '<a href="{}">{}</a>: {}, {} pages, {} users, {} — <a href="{}">run again</a>',
        reverse("admin:directory_syncrun_change", args=[run.pk]),
        f"{run.started_at:%Y-%m-%d %H:%M}",
        run.get_status_display(),
        run.pages_seen,
        run.users_seen,
        f"{len(run.errors)} problem{'' if len(run.errors) == 1 else 's'}" if run.errors else "no problems",
        run_link,
    )


# The directory extends the instance admin instead of tokens/ importing the directory: the dependency points down.
admin.site.unregister(Instance)


@admin.register(Instance)
class InstanceWithDirectoryAdmin(InstanceAdmin):
    actions = [*InstanceAdmin.actions, sync_directory]
    readonly_fields = [*InstanceAdmin.readonly_fields, "last_directory_sync"]
    fieldsets = [*InstanceAdmin.fieldsets, ("Confluence directory", {"fields": ["last_directory_sync"]})]
    last_directory_sync = last_sync_display

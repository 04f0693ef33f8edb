"""The admin for instances, licenses and tokens: thin forms and buttons over `tokens.services`.

Token secrets: the issue view renders the secret in the response to its own POST (never after a redirect,
never through messages, cookies or the session), marks that response no-store, and accepts each form only
once, so a reload or a resubmission cannot show a secret again or silently issue a second token.
"""

from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join

from portal.cache import cache_call
from portal.crypto import SecretUnreadable
from portal.errors import PortalError
from tokens import confluence as instance_confluence
from tokens.forms import InstanceForm, IssueTokenForm, LicenseForm
from tokens.models import (
    MAX_LIVE_TOKENS,
    Instance,
    License,
    LicenseChange,
    LicenseState,
    Token,
    TokenEvent,
    license_state,
)
from tokens.selectors import instances_with_live_counts
from tokens.services import instance_create, instance_update, license_set, token_issue, token_revoke

logger = logging.getLogger("tokens.admin")

EXPIRING_WITHIN_DAYS = 30


class RefusalsAsMessages:
    """A service refusal that slips past form validation (a race with another admin) becomes an
    error message on the same page instead of a server error; the admin's transaction rolls back."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PortalError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# --------------------------------------------------------------------------- instances


@admin.register(Instance)
class InstanceAdmin(RefusalsAsMessages, admin.ModelAdmin):
    form = InstanceForm
    list_display = ["name", "base_url", "auth_type", "license_column", "live_tokens_column", "api_token_column"]
    search_fields = ["name", "base_url"]
    # Other apps extend this admin with their own actions and fields (directory/admin.py adds the sync);
    # tokens/ knows nothing of them.
    actions = ["test_connection"]
    fieldsets = [
        (None, {"fields": ["name", "base_url"]}),
        ("Service account", {"fields": ["auth_type", "email", "api_token", "cloud_id"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Instance]:
        return instances_with_live_counts().select_related("license")

    @admin.display(description="license")
    def license_column(self, instance: Instance) -> str:
        license = getattr(instance, "license", None)
        state = license_state(license)
        if state == LicenseState.ACTIVE:
            return f"active, {license.days_left()} days left"
        return state.label

    @admin.display(description="live tokens", ordering="live_token_count")
    def live_tokens_column(self, instance: Instance) -> str:
        return f"{instance.live_token_count} / {MAX_LIVE_TOKENS}"

    @admin.display(description="API token", boolean=True)
    def api_token_column(self, instance: Instance) -> bool:
        return instance.has_api_token

    def save_model(self, request: HttpRequest, obj: Instance, form: InstanceForm, change: bool) -> None:
        data = form.cleaned_data
        fields = {key: data[key] for key in ("base_url", "email", "auth_type", "cloud_id")}
        if change:
            instance_update(instance=obj, api_token=data["api_token"] or None, **fields)
            return
        created = instance_create(name=data["name"], api_token=data["api_token"], **fields)
        # The admin goes on with `obj` (history entry, redirect): make it the saved row.
        obj.pk, obj.api_token_encrypted, obj._state = created.pk, created.api_token_encrypted, created._state

    @admin.action(description="Test connection to Confluence", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        for instance in queryset:
            try:
                # Short limits: an admin is waiting for the page, and one answer is enough to tell.
                client = instance_confluence.build_client(instance, connect_timeout=5, read_timeout=10, max_retries=1, deadline=20)
            except SecretUnreadable:
                self.message_user(
                    request,
                    f"{instance.name}: the stored API token cannot be decrypted with the configured "
                    "FIELD_ENCRYPTION_KEY; enter the token again.",
                    messages.ERROR,
                )
                continue
            try:
                report = client.check_connection()
            except Exception:  # a bug in the client must not turn the admin page into a 500
                logger.exception("test connection of %s failed unexpectedly", instance.name)
                self.message_user(request, f"{instance.name}: the test failed unexpectedly; see the logs.", messages.ERROR)
                continue
            finally:
                client.close()
            level = messages.SUCCESS if report.ok else messages.ERROR
            self.message_user(request, f"{instance.name}: {report.message}", level)


# --------------------------------------------------------------------------- licenses


def _describe_change(changes: dict) -> str:
    if "created" in changes:
        return "created: " + ", ".join(f"{key} {value}" for key, value in changes["created"].items())
    return "; ".join(f"{key}: {old} → {new}" for key, (old, new) in changes.items())


class LicenseStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        states = [(state.value, state.label) for state in LicenseState if state != LicenseState.NONE]
        return [("expiring", f"expiring within {EXPIRING_WITHIN_DAYS} days"), *states]

    def queryset(self, request, queryset):
        if self.value() == "expiring":
            return queryset.expiring(EXPIRING_WITHIN_DAYS)
        if self.value():
            return queryset.in_state(self.value())
        return queryset


@admin.register(License)
class LicenseAdmin(RefusalsAsMessages, admin.ModelAdmin):
    form = LicenseForm
    list_display = ["instance", "reference", "valid_from", "valid_until", "active", "state_column", "days_left_column"]
    list_filter = [LicenseStateFilter]
    search_fields = ["instance__name", "reference"]
    list_select_related = ["instance"]

    def get_fields(self, request, obj=None):
        fields = ["instance", "reference", "valid_from", "valid_until", "active"]
        return [*fields, "state_column", "days_left_column", "history"] if obj is not None else fields

    def get_readonly_fields(self, request, obj=None):
        # The history is shown, never edited: a read-only field rather than an inline formset.
        return ["instance", "state_column", "days_left_column", "history"] if obj is not None else []

    @admin.display(description="history")
    def history(self, license: License) -> str:
        changes = LicenseChange.objects.filter(license=license).select_related("changed_by")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{timezone.localtime(change.changed_at):%Y-%m-%d %H:%M}",
                    change.changed_by.get_username() if change.changed_by else "command line",
                    _describe_change(change.changes),
                )
                for change in changes
            ),
        )
        return format_html(
            '<table id="license-history"><thead><tr><th>when</th><th>who</th><th>what</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="state")
    def state_column(self, license: License) -> str:
        return license.state().label

    @admin.display(description="days left", ordering="valid_until")
    def days_left_column(self, license: License) -> int:
        return license.days_left()

    def save_model(self, request: HttpRequest, obj: License, form: LicenseForm, change: bool) -> None:
        data = form.cleaned_data
        saved = license_set(
            instance=obj.instance,
            reference=data["reference"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            active=data["active"],
            actor=request.user,
        )
        obj.pk, obj._state = saved.pk, saved._state


# --------------------------------------------------------------------------- tokens


class TokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return Token.State.choices

    def queryset(self, request, queryset):
        if self.value() == Token.State.LIVE:
            return queryset.live()
        if self.value() == Token.State.EXPIRED:
            return queryset.expired()
        if self.value() == Token.State.REVOKED:
            return queryset.revoked()
        return queryset


class TokenEventInline(admin.TabularInline):
    model = TokenEvent
    verbose_name_plural = "history"
    fields = ["at", "action", "actor", "actor_name"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


_STATE_COLOURS = {Token.State.LIVE: "#2e7d32", Token.State.EXPIRED: "#8a6d3b", Token.State.REVOKED: "#b71c1c"}


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    list_display = ["label", "instance", "hint", "state_column", "expires_at", "last_used_at", "created_by", "created_at"]
    list_filter = [TokenStateFilter, "instance"]
    search_fields = ["label", "hint", "instance__name"]
    list_select_related = ["instance", "created_by"]
    actions = ["revoke_selected"]
    fields = [
        "instance", "label", "hint", "state_column", "allowed_spaces_column", "created_at", "created_by",
        "expires_at", "last_used_at", "revoked_at", "revoked_by",
    ]
    readonly_fields = fields
    inlines = [TokenEventInline]
    change_form_template = "admin/tokens/token/change_form.html"

    # Tokens are issued (add_view below), revoked, and otherwise only looked at.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tokens.add_token")

    def has_change_permission(self, request: HttpRequest, obj: Token | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Token | None = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tokens.revoke_token")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="state")
    def state_column(self, token: Token) -> str:
        state = token.state()
        return format_html('<strong style="color:{}">{}</strong>', _STATE_COLOURS[state], state)

    @admin.display(description="allowed spaces")
    def allowed_spaces_column(self, token: Token) -> str:
        return ", ".join(token.allowed_spaces) or "every space"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/revoke/", self.admin_site.admin_view(self.revoke_view), name=f"{info[0]}_{info[1]}_revoke"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        token = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_revoke": token is not None and token.revoked_at is None and self.has_revoke_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    # ---- issue

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        """The Issue token form replaces the standard add form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = IssueTokenForm(request.POST)
            if form.is_valid():
                return self._issue(request, form)
        else:
            form = IssueTokenForm(initial={"nonce": IssueTokenForm.new_nonce(request.user.pk)})
        return self._issue_form_response(request, form)

    def _issue(self, request: HttpRequest, form: IssueTokenForm) -> HttpResponse:
        nonce = form.cleaned_data["nonce"]
        # cache.add is atomic: of two submissions of one form, only the first gets past this line. With the cache
        # down the guard is skipped (True): a resubmitted form then meets the label's uniqueness and is refused.
        if not IssueTokenForm.nonce_valid_for(nonce, request.user.pk) or not cache_call(
            "add", f"tokens:issue-nonce:{nonce}", True, timeout=3700, default=True
        ):
            self.message_user(
                request,
                "That form was already submitted (or is too old), so no token was issued now. A secret is shown "
                "only once, right after issuing; if it was lost, revoke that token and issue a new one.",
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:tokens_token_changelist"))
        try:
            issued = token_issue(
                instance=form.cleaned_data["instance"],
                label=form.cleaned_data["label"],
                days=form.cleaned_data["days"],
                spaces=form.space_keys(),
                actor=request.user,
            )
        except PortalError as refusal:
            # Nothing was issued: let the admin correct the form and submit it again.
            cache_call("delete", f"tokens:issue-nonce:{nonce}")
            field = refusal.field if refusal.field in form.fields else None
            form.add_error(field, refusal.message)
            self.message_user(request, refusal.message, messages.ERROR)
            return self._issue_form_response(request, form)
        self.log_addition(request, issued.token, [{"added": {}}])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Token issued",
            "token": issued.token,
            "secret": issued.secret,
            "change_url": reverse("admin:tokens_token_change", args=[quote(issued.token.pk)]),
        }
        response = TemplateResponse(request, "admin/tokens/token/issued.html", context)
        # The one response that carries the secret: no browser or proxy may keep a copy of it.
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        response["Pragma"] = "no-cache"
        return response

    def _issue_form_response(self, request: HttpRequest, form: IssueTokenForm) -> HttpResponse:
        admin_form = helpers.AdminForm(
            form, [(None, {"fields": ["instance", "label", "days", "spaces", "nonce"]})], {}, model_admin=self
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Issue token",
            "adminform": admin_form,
            "form": form,
            "errors": helpers.AdminErrorList(form, []),
            "has_instances": Instance.objects.exists(),
        }
        return TemplateResponse(request, "admin/tokens/token/issue.html", context)

    # ---- revoke

    def _revoke(self, request: HttpRequest, tokens: list[Token]) -> tuple[int, list[str]]:
        revoked, refusals = 0, []
        for token in tokens:
            try:
                token_revoke(token=token, actor=request.user)
            except PortalError as refusal:
                refusals.append(refusal.message)
                continue
            revoked += 1
            self.log_change(request, token, "Revoked.")
        return revoked, refusals

    def _confirm(self, request: HttpRequest, tokens: list[Token], *, bulk: bool) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Revoke tokens?" if bulk else "Revoke token?",
            "tokens": tokens,
            "bulk": bulk,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tokens/token/revoke_confirmation.html", context)

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        token = get_object_or_404(Token.objects.select_related("instance"), pk=object_id)
        change_url = reverse("admin:tokens_token_change", args=[quote(token.pk)])
        if token.revoked_at is not None:
            self.message_user(request, f"The token {token.label} ({token.hint}) is already revoked.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method != "POST":
            return self._confirm(request, [token], bulk=False)
        revoked, refusals = self._revoke(request, [token])
        for refusal in refusals:
            self.message_user(request, refusal, messages.ERROR)
        if revoked:
            self.message_user(
                request, f"The token {token.label} ({token.hint}) is revoked: it is refused from now on.", messages.SUCCESS
            )
        return HttpResponseRedirect(change_url)

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Token]) -> TemplateResponse | None:
        tokens = list(queryset.select_related("instance"))
        already = [token for token in tokens if token.revoked_at is not None]
        to_revoke = [token for token in tokens if token.revoked_at is None]
        if not to_revoke:
            self.message_user(request, "The selected tokens are all revoked already; nothing to do.", messages.WARNING)
            return None
        if request.POST.get("post") != "yes":
            return self._confirm(request, to_revoke, bulk=True)
        revoked, refusals = self._revoke(request, to_revoke)
        if revoked:
            self.message_user(
                request, f"Revoked {revoked} token{'s' if revoked != 1 else ''}: refused from now on.", messages.SUCCESS
            )
        if already:
            self.message_user(request, f"{len(already)} selected token(s) were already revoked.", messages.WARNING)
        for refusal in refusals:
            self.message_user(request, refusal, messages.ERROR)
        return None


@admin.register(TokenEvent)
class TokenEventAdmin(admin.ModelAdmin):
    """Who issued and revoked which token, when. Read-only."""

    list_display = ["at", "action", "token", "instance_column", "who_column"]
    list_filter = ["action", "token__instance"]
    search_fields = ["token__label", "token__hint", "actor__username", "actor_name"]
    list_select_related = ["token__instance", "actor"]

    @admin.display(description="instance")
    def instance_column(self, event: TokenEvent) -> str:
        return event.token.instance.name

    @admin.display(description="by")
    def who_column(self, event: TokenEvent) -> str:
        return event.actor.get_username() if event.actor else event.actor_name or "-"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False



"""Confluence instances, their licenses, and the API tokens issued to clients.

The rules themselves (limits, license checks) live in `tokens.services`; the tables here enforce what a
database can: uniqueness, the expiry window, and the indexes that make the rules cheap to check.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from portal import crypto

TOKEN_MIN_DAYS = 1
TOKEN_MAX_DAYS = 30
MAX_LIVE_TOKENS = 50

name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    "Use 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit.",
)
label_validator = RegexValidator(
    r"^[A-Za-z0-9_-]{3,50}$", "A label is 3 to 50 characters: letters, digits, '-' and '_'."
)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_site_url(value: str) -> None:
    """An https:// site, or http:// on a loopback address (the Confluence stand-in of tests and the demo)."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError("Enter the site's address, e.g. https://acme.atlassian.net.")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValidationError("Use https://; plain http:// is allowed only for loopback addresses.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError("Enter the site's address only, without credentials, query or fragment.")


class Instance(models.Model):
    """A Confluence Cloud site and the service account the portal calls it as."""

    class AuthType(models.TextChoices):
        BASIC = "basic", "Email + API token (basic)"
        BEARER = "bearer", "OAuth access token (bearer)"

    name = models.CharField(max_length=64, unique=True, validators=[name_validator])
    base_url = models.CharField(
        "site URL", max_length=200, validators=[validate_site_url], help_text="e.g. https://acme.atlassian.net"
    )
    email = models.EmailField("service account email", blank=True)
    auth_type = models.CharField(max_length=10, choices=AuthType.choices, default=AuthType.BASIC)
    # Fernet ciphertext of the Atlassian API token (or OAuth access token); never the plaintext.
    api_token_encrypted = models.TextField(editable=False, default="")
    cloud_id = models.CharField(
        "cloud id",
        max_length=64,
        blank=True,
        help_text="For scoped API tokens: calls then go to https://api.atlassian.com/ex/confluence/{cloud id}.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.base_url:
            self.base_url = self.base_url.rstrip("/")
            if self.base_url.endswith("/wiki"):
                self.base_url = self.base_url[: -len("/wiki")]
        if self.auth_type == self.AuthType.BASIC and not self.email:
            raise ValidationError({"email": "Basic authentication needs the service account's email."})

    def set_api_token(self, raw: str) -> None:
        self.api_token_encrypted = crypto.encrypt(raw)

    @property
    def has_api_token(self) -> bool:
        return bool(self.api_token_encrypted)

    def api_token(self) -> str:
        """The decrypted token, for the Confluence client only. A method, so templates never render it."""
        return crypto.decrypt(self.api_token_encrypted) if self.api_token_encrypted else ""

    api_token.do_not_call_in_templates = True


class LicenseState(models.TextChoices):
    """What a license says today. The one place the four conditions are written (with LicenseQuerySet.in_state)."""

    ACTIVE = "active", "active"
    OFF = "off", "switched off"
    NOT_YET_VALID = "not_yet_valid", "not yet valid"
    LAPSED = "lapsed", "lapsed"
    NONE = "none", "no license"


class LicenseQuerySet(models.QuerySet):
    def in_state(self, state: str, at: dt.datetime | None = None) -> LicenseQuerySet:
        """The licenses `License.state(at)` would put in `state` (switched off wins over the dates, as there)."""
        today = timezone.localdate(at or timezone.now())
        conditions = {
            LicenseState.OFF: Q(active=False),
            LicenseState.NOT_YET_VALID: Q(active=True, valid_from__gt=today),
            LicenseState.LAPSED: Q(active=True, valid_until__lt=today),
            LicenseState.ACTIVE: Q(active=True, valid_from__lte=today, valid_until__gte=today),
        }
        if state not in conditions:
            return self.none()
        return self.filter(conditions[state])

    def expiring(self, within_days: int, at: dt.datetime | None = None) -> LicenseQuerySet:
        """Licenses still valid today whose last day falls within the next `within_days` days."""
        today = timezone.localdate(at or timezone.now())
        return self.filter(valid_until__gte=today, valid_until__lt=today + dt.timedelta(days=within_days))


class License(models.Model):
    """Whether an instance may be issued tokens. One per instance; every change is kept in LicenseChange."""

    instance = models.OneToOneField(Instance, on_delete=models.CASCADE, related_name="license")
    reference = models.CharField(max_length=200, help_text="The license key or contract reference.")
    valid_from = models.DateField()
    valid_until = models.DateField(help_text="The last day the license is valid (inclusive).")
    active = models.BooleanField(default=True, help_text="Switch off to suspend issuing at once.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = LicenseQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")), name="license_valid_until_after_valid_from"
            ),
        ]

    def __str__(self) -> str:
        return f"License of {self.instance}"

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError({"valid_until": "The license cannot end before it starts."})

    def state(self, at: dt.datetime | None = None) -> LicenseState:
        if not self.active:
            return LicenseState.OFF
        today = timezone.localdate(at or timezone.now())
        if today < self.valid_from:
            return LicenseState.NOT_YET_VALID
        if today > self.valid_until:
            return LicenseState.LAPSED
        return LicenseState.ACTIVE

    def is_active(self, at: dt.datetime | None = None) -> bool:
        return self.state(at) == LicenseState.ACTIVE

    def days_left(self, at: dt.datetime | None = None) -> int:
        """Days of validity left counting today; 0 once lapsed."""
        day = timezone.localdate(at or timezone.now())
        return max(0, (self.valid_until - day).days + 1)


class LicenseChange(models.Model):
    """The history of a license: who changed what, and when."""

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    changed_at = models.DateTimeField(default=timezone.now)
    # {"field": [old, new], ...}; {} for the creation of the license, with every field in "created".
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.license.instance} license changed {self.changed_at:%Y-%m-%d %H:%M}"


def license_state(license: License | None, at: dt.datetime | None = None) -> LicenseState:
    """The state of an instance's license, where the instance may have none."""
    return LicenseState.NONE if license is None else license.state(at)


def live_token_condition(at: dt.datetime | None = None, *, via: str = "") -> Q:
    """A token is live when it is neither revoked nor expired: the one definition, for querysets and for
    conditional counts across a relation (`via="tokens__"` counts an instance's live tokens)."""
    return Q(**{f"{via}revoked_at__isnull": True, f"{via}expires_at__gt": at or timezone.now()})


class TokenQuerySet(models.QuerySet):
    def live(self, at: dt.datetime | None = None) -> TokenQuerySet:
        return self.filter(live_token_condition(at))

    def expired(self, at: dt.datetime | None = None) -> TokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__lte=at or timezone.now())

    def revoked(self) -> TokenQuerySet:
        return self.filter(revoked_at__isnull=False)


class Token(models.Model):
    """An API token issued to a client. Only a SHA-256 of the secret is stored."""

    class State(models.TextChoices):
        LIVE = "live", "live"
        EXPIRED = "expired", "expired"
        REVOKED = "revoked", "revoked"

    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="tokens")
    label = models.CharField(max_length=50, validators=[label_validator])
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=20, editable=False, help_text="The token's start and end, to recognise it.")
    allowed_spaces = models.JSONField(
        default=list, blank=True, help_text="Space keys this token may import into; empty means every space."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # Issuing is Django's add_token; revoking is its own permission because it is final.
        permissions = [("revoke_token", "Can revoke token")]
        constraints = [
            models.UniqueConstraint(fields=["instance", "label"], name="token_label_unique_per_instance"),
            models.CheckConstraint(
                condition=Q(expires_at__gte=F("created_at") + dt.timedelta(days=TOKEN_MIN_DAYS))
                & Q(expires_at__lte=F("created_at") + dt.timedelta(days=TOKEN_MAX_DAYS)),
                name="token_expiry_1_to_30_days",
            ),
        ]
        indexes = [
            # Counting an instance's live tokens under the issuing lock.
            models.Index(fields=["instance", "revoked_at", "expires_at"], name="token_live_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.hint})"

    def state(self, at: dt.datetime | None = None) -> str:
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= (at or timezone.now()):
            return self.State.EXPIRED
        return self.State.LIVE

    def allows_space(self, space_key: str) -> bool:
        return not self.allowed_spaces or space_key.upper() in {key.upper() for key in self.allowed_spaces}


class TokenEvent(models.Model):
    """Every issue and revoke: who, when, which token."""

    class Action(models.TextChoices):
        ISSUED = "issued", "issued"
        REVOKED = "revoked", "revoked"

    token = models.ForeignKey(Token, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # For commands run without a user account: the operating-system user, say.
    actor_name = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.token} {self.action} {self.at:%Y-%m-%d %H:%M}"

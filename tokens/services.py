"""Every write to instances, licenses and tokens. The rules of API.md's token table live here and only here:
the admin's forms and the management commands call these functions, so the limits hold whichever door
a request comes through.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from confluence.spaces import is_space_key
from tokens import secret as token_secret
from tokens.errors import (
    AlreadyRevoked,
    DaysInvalid,
    InstanceInvalid,
    InstanceNotFound,
    LabelInvalid,
    LabelTaken,
    LicenseInactive,
    LicenseInvalid,
    SpacesInvalid,
    TokenLimitReached,
    TokenNotFound,
)
from tokens.models import (
    MAX_LIVE_TOKENS,
    TOKEN_MAX_DAYS,
    TOKEN_MIN_DAYS,
    Instance,
    License,
    LicenseChange,
    LicenseState,
    Token,
    TokenEvent,
    license_state,
)

logger = logging.getLogger("tokens")

Actor = AbstractBaseUser | None

_LABEL = re.compile(r"^[A-Za-z0-9_-]{3,50}$")
_UNSET: Any = object()


@dataclass(frozen=True)
class IssuedToken:
    """The token row and its secret. The secret exists only here, once: it is never stored or logged."""

    token: Token
    secret: str

    def __repr__(self) -> str:
        return f"IssuedToken(token={self.token!r}, secret='{self.token.hint}')"


def _actor_user(actor: Actor) -> Any:
    return actor if actor is not None and getattr(actor, "pk", None) is not None else None


def _first_error(error: ValidationError) -> tuple[str | None, str]:
    if hasattr(error, "error_dict"):
        field, errors = next(iter(error.error_dict.items()))
        return (None if field == "__all__" else field), str(errors[0].message % (errors[0].params or {}))
    return None, error.messages[0]


# --------------------------------------------------------------------------- instances


def _instance_save(instance: Instance, *, api_token: str | None) -> Instance:
    if api_token:
        instance.set_api_token(api_token)
    try:
        instance.full_clean()
    except ValidationError as error:
        field, message = _first_error(error)
        raise InstanceInvalid(message, field=field) from None
    instance.save()
    return instance


def instance_create(
    *,
    name: str,
    base_url: str,
    email: str = "",
    api_token: str = "",
    auth_type: str = Instance.AuthType.BASIC,
    cloud_id: str = "",
) -> Instance:
    """A new Confluence site. The API token is encrypted before it reaches the database."""
    if not api_token:
        raise InstanceInvalid("The Atlassian API token is required for a new instance.", field="api_token")
    instance = Instance(
        name=name.strip(), base_url=base_url.strip(), email=email.strip(), auth_type=auth_type, cloud_id=cloud_id.strip()
    )
    return _instance_save(instance, api_token=api_token)


def instance_update(
    *,
    instance: Instance,
    base_url: str = _UNSET,
    email: str = _UNSET,
    api_token: str | None = None,
    auth_type: str = _UNSET,
    cloud_id: str = _UNSET,
) -> Instance:
    """Change what is given. An empty or missing `api_token` keeps the stored one (forms leave it blank)."""
    for field, value in (("base_url", base_url), ("email", email), ("auth_type", auth_type), ("cloud_id", cloud_id)):
        if value is not _UNSET:
            setattr(instance, field, value.strip() if isinstance(value, str) else value)
    return _instance_save(instance, api_token=api_token)


# --------------------------------------------------------------------------- licenses

_LICENSE_FIELDS = ("reference", "valid_from", "valid_until", "active")


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date) else value


def license_set(
    *,
    instance: Instance,
    reference: str,
    valid_from: dt.date,
    valid_until: dt.date,
    active: bool,
    actor: Actor,
) -> License:
    """Create or change the instance's license, recording who changed which field from what to what."""
    reference = (reference or "").strip()
    if not reference:
        raise LicenseInvalid("The license needs a reference or key.", field="reference")
    if valid_until < valid_from:
        raise LicenseInvalid("The license cannot end before it starts.", field="valid_until")
    new = {"reference": reference, "valid_from": valid_from, "valid_until": valid_until, "active": bool(active)}
    with transaction.atomic():
        license = License.objects.select_for_update().filter(instance=instance).first()
        if license is None:
            license = License.objects.create(instance=instance, **new)
            changes: dict[str, Any] = {"created": {key: _jsonable(value) for key, value in new.items()}}
        else:
            changes = {
                key: [_jsonable(getattr(license, key)), _jsonable(value)]
                for key, value in new.items()
                if getattr(license, key) != value
            }
            if not changes:
                return license
            for key, value in new.items():
                setattr(license, key, value)
            license.save()
        LicenseChange.objects.create(license=license, changed_by=_actor_user(actor), changes=changes)
    logger.info("license of %s set: %s", instance.name, sorted(changes))
    return license


# --------------------------------------------------------------------------- tokens


def _clean_label(label: str) -> str:
    label = (label or "").strip()
    if not _LABEL.match(label):
        raise LabelInvalid(
            "A label is 3 to 50 characters: letters, digits, '-' and '_' (no spaces).", field="label"
        )
    return label


def _clean_days(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not TOKEN_MIN_DAYS <= days <= TOKEN_MAX_DAYS:
        raise DaysInvalid(
            f"A token expires after whole days, {TOKEN_MIN_DAYS} to {TOKEN_MAX_DAYS}; got {days!r}.", field="days"
        )
    return days


def _clean_spaces(spaces: Iterable[str]) -> list[str]:
    if isinstance(spaces, str):
        spaces = [spaces]
    cleaned: list[str] = []
    for raw in spaces:
        key = str(raw).strip()
        if not is_space_key(key):
            raise SpacesInvalid(
                f"{key!r} is not a space key: use letters and digits (e.g. DOCS), or ~ and an account id.",
                field="spaces",
            )
        key = key if key.startswith("~") else key.upper()
        if key.upper() not in {k.upper() for k in cleaned}:
            cleaned.append(key)
    return cleaned


def token_issue(
    *,
    instance: Instance,
    label: str,
    days: int,
    actor: Actor,
    spaces: Iterable[str] = (),
    actor_name: str = "",
) -> IssuedToken:
    """Issue a token for `instance`, valid `days` whole days, and return it with its secret (once).

    The checks that depend on other rows (license, label free, live count) run after locking the
    instance row, so two admins or two app servers issuing at once queue here and the 51st is refused.
    On SQLite the lock is the write lock that BEGIN IMMEDIATE takes (select_for_update is a no-op there).
    """
    label = _clean_label(label)
    days = _clean_days(days)
    allowed_spaces = _clean_spaces(spaces)

    with transaction.atomic():
        locked = Instance.objects.select_for_update().filter(pk=instance.pk).first()
        if locked is None:
            raise InstanceNotFound(f"The instance {instance.name!r} does not exist (any more).", field="instance")
        now = timezone.now()
        license = License.objects.filter(instance=locked).first()
        state = license_state(license, now)
        if state != LicenseState.ACTIVE:
            raise LicenseInactive(_license_refusal(locked, license, state), field="instance")
        if Token.objects.filter(instance=locked, label__iexact=label).exists():
            raise LabelTaken(
                f"The instance {locked.name} already has a token labelled {label!r}; labels are never reused, "
                "pick another.",
                field="label",
            )
        live = Token.objects.live(now).filter(instance=locked).count()
        if live >= MAX_LIVE_TOKENS:
            raise TokenLimitReached(
                f"The instance {locked.name} already has {live} live tokens, the most allowed is "
                f"{MAX_LIVE_TOKENS}: revoke one or wait until one expires.",
                field="instance",
            )
        secret = token_secret.generate()
        try:
            # A savepoint, so that a constraint failure leaves the outer transaction usable for the refusal.
            with transaction.atomic():
                token = Token.objects.create(
                    instance=locked,
                    label=label,
                    secret_hash=token_secret.hash_of(secret),
                    hint=token_secret.hint_of(secret),
                    allowed_spaces=allowed_spaces,
                    created_by=_actor_user(actor),
                    created_at=now,
                    expires_at=now + dt.timedelta(days=days),
                )
        except IntegrityError:
            # Only reachable if the lock above were bypassed (e.g. a raw SQL insert): the table still says no.
            raise LabelTaken(f"The instance {locked.name} already has a token labelled {label!r}.", field="label") from None
        TokenEvent.objects.create(
            token=token, action=TokenEvent.Action.ISSUED, actor=_actor_user(actor), actor_name=actor_name, at=now
        )
    logger.info("token %s issued: instance=%s label=%s hint=%s days=%s", token.pk, locked.name, label, token.hint, days)
    return IssuedToken(token=token, secret=secret)


def _license_refusal(instance: Instance, license: License | None, state: LicenseState) -> str:
    if license is None:
        return f"The instance {instance.name} has no license, so no tokens can be issued for it."
    if state == LicenseState.OFF:
        return f"The license of {instance.name} is switched off, so no tokens can be issued for it."
    if state == LicenseState.NOT_YET_VALID:
        return f"The license of {instance.name} starts on {license.valid_from:%Y-%m-%d}; tokens can be issued from then."
    return f"The license of {instance.name} lapsed on {license.valid_until:%Y-%m-%d}, so no tokens can be issued for it."


def token_revoke(*, token: Token, actor: Actor, actor_name: str = "") -> Token:
    """Revoke at once and for good: the next request with the token is refused, on every app process,
    because authentication reads `revoked_at` from the database on every request."""
    with transaction.atomic():
        locked = Token.objects.select_for_update().select_related("instance").filter(pk=token.pk).first()
        if locked is None:
            raise TokenNotFound(f"Token {token.pk} does not exist.")
        if locked.revoked_at is not None:
            raise AlreadyRevoked(
                f"The token {locked.label} ({locked.hint}) was already revoked on "
                f"{timezone.localtime(locked.revoked_at):%Y-%m-%d %H:%M}; revocation is final."
            )
        now = timezone.now()
        locked.revoked_at = now
        locked.revoked_by = _actor_user(actor)
        locked.save(update_fields=["revoked_at", "revoked_by"])
        TokenEvent.objects.create(
            token=locked, action=TokenEvent.Action.REVOKED, actor=_actor_user(actor), actor_name=actor_name, at=now
        )
    token.revoked_at, token.revoked_by = locked.revoked_at, locked.revoked_by
    logger.info("token %s revoked: instance=%s label=%s hint=%s", locked.pk, locked.instance.name, locked.label, locked.hint)
    return locked

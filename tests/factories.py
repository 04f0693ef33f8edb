"""Test data in one place: instances (with their license), tokens and API clients."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN
from tokens.models import Instance
from tokens.services import IssuedToken, instance_create, license_set, token_issue

# An Atlassian API token for instances that never call Confluence.
ATLASSIAN_TOKEN = "ATATT-atlassian-service-account-token-0123456789"


def make_instance(
    name: str = "acme",
    *,
    url: str | None = None,
    email: str | None = None,
    api_token: str | None = None,
    licensed: bool = True,
    until_days: int = 365,
    active: bool = True,
    **fields: Any,
) -> Instance:
    """An instance and, unless `licensed` is false, its license (valid for 400 days before today and `until_days`
    after it, switched on unless `active` is false).

    With `url` (a stand-in's), the stand-in's credentials are the default; without it, a made-up Atlassian site
    that is never called.
    """
    on_standin = url is not None
    instance = instance_create(
        name=name,
        base_url=url or fields.pop("base_url", f"https://{name}.atlassian.net"),
        email=email or (DEFAULT_EMAIL if on_standin else "bot@acme.example"),
        api_token=api_token or (DEFAULT_TOKEN if on_standin else ATLASSIAN_TOKEN),
        **fields,
    )
    if licensed:
        today = timezone.localdate()
        license_set(
            instance=instance, reference=f"LIC-{name}", valid_from=today - dt.timedelta(days=400),
            valid_until=today + dt.timedelta(days=until_days), active=active, actor=None,
        )
    return instance


def issue(instance: Instance, label: str = "ci-main", days: int = 7, **kwargs: Any) -> IssuedToken:
    return token_issue(instance=instance, label=label, days=days, actor=kwargs.pop("actor", None), **kwargs)


def bearer_client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client

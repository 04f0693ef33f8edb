"""Small factories for instances, licenses and tokens."""

import datetime as dt

import pytest
from django.utils import timezone

from tokens.models import Instance
from tokens.services import instance_create, license_set, token_issue

ATLASSIAN_TOKEN = "ATATT-atlassian-service-account-token-0123456789"


def make_instance(name="acme", *, licensed=True, api_token=ATLASSIAN_TOKEN, **kwargs) -> Instance:
    instance = instance_create(
        name=name,
        base_url=kwargs.pop("base_url", f"https://{name}.atlassian.net"),
        email=kwargs.pop("email", "bot@acme.example"),
        api_token=api_token,
        **kwargs,
    )
    if licensed:
        today = timezone.localdate()
        license_set(
            instance=instance,
            reference=f"LIC-{name}",
            valid_from=today - dt.timedelta(days=10),
            valid_until=today + dt.timedelta(days=365),
            active=True,
            actor=None,
        )
    return instance


def issue(instance, label="ci-main", days=7, **kwargs):
    return token_issue(instance=instance, label=label, days=days, actor=kwargs.pop("actor", None), **kwargs)


@pytest.fixture
def instance(db):
    return make_instance()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The failed-auth throttle lives in the cache; tests must not inherit each other's counts.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()

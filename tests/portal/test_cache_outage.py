"""A cache that is down is an optimisation lost, not an outage: the API and the admin go on without it.

The cache here is Django's Redis backend pointed at a port where nothing listens, as with `.env.example`'s
`CACHE_URL=redis://127.0.0.1:6379/0` on a machine without Redis.
"""

import logging
import socket

import pytest
from rest_framework.test import APIClient

from portal.cache import cache_reset_state
from tests.factories import issue, make_instance

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    cache_reset_state()
    yield
    cache_reset_state()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Overrides the tokens conftest's fixture of the same name: there is no cache to clear here."""
    yield


def test_a_valid_token_is_accepted_and_a_bad_one_refused_while_the_cache_is_down(cache_down, caplog):
    issued = issue(make_instance())
    client = APIClient()
    caplog.set_level(logging.WARNING, logger="portal.cache")

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert client.get("/api/v1/token").status_code == 200

    client.credentials(HTTP_AUTHORIZATION="Bearer mdi_not-a-real-token")
    refused = client.get("/api/v1/token")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_invalid"

    warnings = [record for record in caplog.records if record.name == "portal.cache"]
    assert len(warnings) == 1, "one warning a minute, not one per request"
    assert "cache unavailable" in warnings[0].getMessage()


def test_many_failed_authentications_are_not_a_500_while_the_cache_is_down(cache_down, settings):
    settings.TOKEN_AUTH_FAILURES_PER_MINUTE = 2
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer mdi_not-a-real-token")
    codes = {client.get("/api/v1/token").status_code for _ in range(5)}
    assert codes == {401}


def test_an_admin_logs_in_and_issues_a_token_while_the_cache_is_down(cache_down, client, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.com", "a-long-password-1")
    instance = make_instance()

    page = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": "a-long-password-1"}, follow=True
    )
    assert page.status_code == 200
    assert page.redirect_chain[-1][0] == "/admin/"
    assert "Log out" in page.content.decode()

    form = client.get("/admin/tokens/token/add/")
    assert form.status_code == 200
    nonce = form.context["adminform"].form["nonce"].value()
    issued = client.post(
        "/admin/tokens/token/add/", {"instance": instance.pk, "label": "ci-docs", "days": 7, "nonce": nonce}
    )
    assert issued.status_code == 200
    assert "mdi_" in issued.content.decode()

"""BearerTokenAuthentication as a client sees it: codes, WWW-Authenticate, last_used_at, the throttle."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import issue
from tokens import secret
from tokens.models import Token
from tokens.services import token_revoke

pytestmark = pytest.mark.django_db


def get_token(secret_value=None, header=None, **extra):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    elif secret_value is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret_value}")
    return client.get("/api/v1/token", **extra)


def assert_refused(response, status, code):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["requestId"] == response["X-Request-ID"]
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    return error


def test_a_live_token_authenticates_with_one_query_plus_one_write(instance):
    issued = issue(instance)
    with CaptureQueriesContext(connection) as queries:
        response = get_token(issued.secret)
    assert response.status_code == 200
    assert len([q for q in queries if q["sql"].startswith("SELECT")]) == 1
    assert len([q for q in queries if q["sql"].startswith("UPDATE")]) == 1


@pytest.mark.parametrize(
    "header",
    ["", "Basic dXNlcjpwYXNz", "Token abc"],
    ids=["no header", "basic", "other scheme"],
)
def test_without_a_bearer_token_the_code_is_token_missing(instance, header):
    error = assert_refused(get_token(header=header or None), 401, "token_missing")
    assert "Bearer" in error["message"]


def test_malformed_and_unknown_tokens_are_token_invalid_before_any_query(instance):
    issued = issue(instance)
    for header in ["Bearer", "Bearer a b", f"Bearer {issued.secret[:-1]}", "Bearer mdi_short", "Bearer ghp_abcdef"]:
        with CaptureQueriesContext(connection) as queries:
            assert_refused(get_token(header=header), 401, "token_invalid")
        assert len(queries) == 0, header
    # Well formed, right checksum, but never issued.
    assert_refused(get_token(secret.generate()), 401, "token_invalid")


def test_expired_and_revoked_tokens_have_their_own_codes(instance):
    expired = issue(instance, label="expired")
    Token.objects.filter(pk=expired.token.pk).update(
        created_at=timezone.now() - dt.timedelta(days=2), expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert_refused(get_token(expired.secret), 401, "token_expired")

    revoked = issue(instance, label="revoked")
    assert get_token(revoked.secret).status_code == 200
    token_revoke(token=revoked.token, actor=None)
    # The very next request is refused.
    assert_refused(get_token(revoked.secret), 401, "token_revoked")


def test_last_used_is_written_at_most_once_a_minute(instance):
    issued = issue(instance)
    assert issued.token.last_used_at is None
    get_token(issued.secret)
    first = Token.objects.get(pk=issued.token.pk).last_used_at
    assert first is not None

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert get_token(issued.secret).status_code == 200
    assert not [q for q in queries if q["sql"].startswith("UPDATE")]
    assert Token.objects.get(pk=issued.token.pk).last_used_at == first

    # A minute later the next request writes again.
    Token.objects.filter(pk=issued.token.pk).update(last_used_at=first - dt.timedelta(seconds=61))
    get_token(issued.secret)
    assert Token.objects.get(pk=issued.token.pk).last_used_at > first


@override_settings(TOKEN_AUTH_FAILURES_PER_MINUTE=5)
def test_failed_authentications_from_one_address_are_throttled(instance):
    issued = issue(instance)
    for _ in range(5):
        assert_refused(get_token(secret.generate(), REMOTE_ADDR="203.0.113.9"), 401, "token_invalid")
    limited = get_token(secret.generate(), REMOTE_ADDR="203.0.113.9")
    error = assert_refused(limited, 429, "rate_limited")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert "try again" in error["message"]
    # While limited, even a good token from that address waits: otherwise a guess could be confirmed.
    assert_refused(get_token(issued.secret, REMOTE_ADDR="203.0.113.9"), 429, "rate_limited")
    # Other addresses are not affected, and a forged X-Forwarded-For does not move the client elsewhere.
    assert get_token(issued.secret, REMOTE_ADDR="203.0.113.10").status_code == 200
    forged = get_token(issued.secret, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert forged.status_code == 429


def test_schema_documents_the_endpoint_with_the_bearer_scheme(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["components"]["securitySchemes"]["portalToken"]["scheme"] == "bearer"
    operation = schema["paths"]["/api/v1/token"]["get"]
    assert {"portalToken": []} in operation["security"]
    assert set(operation["responses"]) >= {"200", "401"}

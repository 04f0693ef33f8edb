"""GET /api/v1/token: what the presented token is, never its secret."""

import pytest
from rest_framework.test import APIClient

from tests.factories import issue

pytestmark = pytest.mark.django_db


def test_the_token_describes_itself_without_its_secret(instance):
    issued = issue(instance, label="ci-docs", days=3, spaces=["DOCS"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    response = client.get("/api/v1/token")
    assert response.status_code == 200
    body = response.json()
    assert body["label"] == "ci-docs"
    assert body["instance"] == "acme"
    assert body["allowedSpaces"] == ["DOCS"]
    assert body["hint"] == issued.token.hint
    assert body["created"] and body["expires"]
    assert issued.secret not in response.content.decode()
    assert issued.token.secret_hash not in response.content.decode()


def test_only_get_is_allowed(instance):
    issued = issue(instance)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert client.delete("/api/v1/token").json()["error"]["code"] == "method_not_allowed"

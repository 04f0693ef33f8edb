"""The instance admin: write-only API token, license state and live tokens in the list, Test connection in words."""

import socket

import pytest
from django.urls import reverse

from tests.factories import ATLASSIAN_TOKEN, issue, make_instance
from tokens.models import Instance

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:tokens_instance_changelist")
ADD_URL = reverse("admin:tokens_instance_add")


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("ada", "ada@example.com", "pw-for-tests-1"))
    return client


def test_adding_an_instance_stores_the_api_token_encrypted_and_never_shows_it(admin_client):
    response = admin_client.post(ADD_URL, {
        "name": "acme", "base_url": "https://acme.atlassian.net/wiki", "auth_type": "basic",
        "email": "bot@acme.example", "api_token": ATLASSIAN_TOKEN, "cloud_id": "",
    })
    assert response.status_code == 302, response.content.decode()
    instance = Instance.objects.get(name="acme")
    assert instance.base_url == "https://acme.atlassian.net"
    assert instance.api_token() == ATLASSIAN_TOKEN

    change_url = reverse("admin:tokens_instance_change", args=[instance.pk])
    page = admin_client.get(change_url).content.decode()
    assert ATLASSIAN_TOKEN not in page and instance.api_token_encrypted not in page
    assert 'type="password" name="api_token"' in page
    assert "leave blank to keep" in page.lower()

    # Saving with the field left blank keeps the token; a new value replaces it.
    data = {"base_url": "https://acme.atlassian.net", "auth_type": "basic", "email": "ops@acme.example", "api_token": "", "cloud_id": ""}
    assert admin_client.post(change_url, data).status_code == 302
    instance.refresh_from_db()
    assert (instance.email, instance.api_token()) == ("ops@acme.example", ATLASSIAN_TOKEN)
    assert admin_client.post(change_url, {**data, "api_token": "ATATT-new-one"}).status_code == 302
    instance.refresh_from_db()
    assert instance.api_token() == "ATATT-new-one"


def test_bad_instances_are_refused_on_the_form(admin_client):
    base = {"name": "acme", "base_url": "https://acme.atlassian.net", "auth_type": "basic", "email": "bot@acme.example", "api_token": "x"}
    for changes, words in [
        ({"base_url": "http://acme.atlassian.net"}, "only for loopback"),
        ({"api_token": ""}, "This field is required"),
        ({"email": ""}, "needs the service account"),
    ]:
        response = admin_client.post(ADD_URL, {**base, **changes})
        assert response.status_code == 200
        assert words in response.content.decode()
    assert not Instance.objects.exists()


def test_the_list_shows_license_state_and_live_tokens(admin_client):
    instance = make_instance("acme")
    make_instance("bare", licensed=False)
    for i in range(3):
        issue(instance, label=f"tok{i}")
    html = admin_client.get(LIST_URL).content.decode()
    assert "3 / 50" in html and "0 / 50" in html
    assert "active, " in html and "days left" in html
    assert "no license" in html


def run_test_connection(admin_client, instance):
    response = admin_client.post(LIST_URL, {"action": "test_connection", "_selected_action": [instance.pk]}, follow=True)
    assert response.status_code == 200
    # The admin capitalises messages ("Good: ...").
    return response.content.decode().lower()


def test_test_connection_reports_in_words(admin_client):
    standin = pytest.importorskip("confluence.standin")
    with standin.StandinServer(port=0) as server:
        good = make_instance("good", base_url=server.url, email=standin.DEFAULT_EMAIL, api_token=standin.DEFAULT_TOKEN)
        assert "good: connected to" in run_test_connection(admin_client, good)
        bad = make_instance("bad", base_url=server.url, email=standin.DEFAULT_EMAIL, api_token="wrong-token")
        assert "refused the credentials" in run_test_connection(admin_client, bad)

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = make_instance("gone", base_url=f"http://127.0.0.1:{port}")
    assert "gone: could not connect to confluence: connection refused" in run_test_connection(admin_client, gone)

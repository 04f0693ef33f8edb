"""The license admin: state, days left, the expiring filter, and a read-only history of who changed what."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_instance
from tokens.models import LicenseChange
from tokens.services import license_set

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:tokens_license_changelist")


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("ada", "ada@example.com", "pw-for-tests-1"))
    return client


def licensed(name, days_left, active=True):
    instance = make_instance(name, licensed=False)
    today = timezone.localdate()
    return license_set(
        instance=instance, reference=f"LIC-{name}", valid_from=today - dt.timedelta(days=100),
        valid_until=today + dt.timedelta(days=days_left - 1), active=active, actor=None,
    )


def test_state_days_left_and_the_expiring_filter(admin_client):
    licensed("soon", 10)
    licensed("later", 200)
    licensed("gone", -5)
    html = admin_client.get(LIST_URL).content.decode()
    assert "lapsed" in html and "active" in html
    assert '<td class="field-days_left_column">10</td>' in html
    expiring = admin_client.get(LIST_URL, {"state": "expiring"}).content.decode()
    assert "LIC-soon" in expiring and "LIC-later" not in expiring and "LIC-gone" not in expiring
    assert "expiring within 30 days" in expiring


def test_each_state_filter_lists_the_licenses_in_that_state(admin_client):
    licensed("current", 10)
    licensed("gone", -5)
    licensed("paused", 10, active=False)
    today = timezone.localdate()
    license_set(
        instance=make_instance("future", licensed=False), reference="LIC-future", valid_from=today + dt.timedelta(days=3),
        valid_until=today + dt.timedelta(days=30), active=True, actor=None,
    )
    expected = {"active": "LIC-current", "lapsed": "LIC-gone", "off": "LIC-paused", "not_yet_valid": "LIC-future"}
    for state, reference in expected.items():
        html = admin_client.get(LIST_URL, {"state": state}).content.decode()
        assert [ref for ref in expected.values() if ref in html] == [reference], state
    assert "not yet valid" in admin_client.get(LIST_URL).content.decode()


def test_changing_a_license_in_the_admin_records_who_and_what(admin_client):
    license = licensed("acme", 100)
    url = reverse("admin:tokens_license_change", args=[license.pk])
    response = admin_client.post(url, {
        "reference": license.reference, "valid_from": license.valid_from.isoformat(),
        "valid_until": (license.valid_until + dt.timedelta(days=365)).isoformat(), "active": "",
    })
    assert response.status_code == 302, response.content.decode()
    change = LicenseChange.objects.filter(license=license).first()
    assert change.changed_by.username == "ada"
    assert set(change.changes) == {"valid_until", "active"}
    page = admin_client.get(url).content.decode()
    assert "history" in page.lower() and "valid_until" in page
    assert "valid_until: " in page and "ada" in page


def test_a_license_ending_before_it_starts_is_refused_on_the_form(admin_client):
    instance = make_instance("acme", licensed=False)
    response = admin_client.post(reverse("admin:tokens_license_add"), {
        "instance": instance.pk, "reference": "L", "valid_from": "2026-02-01", "valid_until": "2026-01-01", "active": "on",
    })
    assert response.status_code == 200
    assert "cannot end before it starts" in response.content.decode()

"""license_set keeps a history; a lapsed license stops issuing but not the tokens issued before."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import issue, make_instance
from tokens.errors import LicenseInactive, LicenseInvalid
from tokens.models import LicenseChange
from tokens.services import license_set

pytestmark = pytest.mark.django_db


def test_changes_are_recorded_with_who_and_what(django_user_model):
    admin = django_user_model.objects.create_user("ada", is_staff=True)
    instance = make_instance(licensed=False)
    start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    license = license_set(instance=instance, reference="LIC-1", valid_from=start, valid_until=end, active=True, actor=admin)
    license_set(instance=instance, reference="LIC-1", valid_from=start, valid_until=dt.date(2027, 6, 30), active=False, actor=admin)
    # Saving without a change records nothing.
    license_set(instance=instance, reference="LIC-1", valid_from=start, valid_until=dt.date(2027, 6, 30), active=False, actor=admin)
    history = list(LicenseChange.objects.filter(license=license).order_by("id"))
    assert len(history) == 2
    assert history[0].changes["created"]["valid_until"] == "2026-12-31"
    assert history[1].changes == {"valid_until": ["2026-12-31", "2027-06-30"], "active": [True, False]}
    assert {change.changed_by for change in history} == {admin}


def test_a_license_cannot_end_before_it_starts_or_lack_a_reference(instance):
    with pytest.raises(LicenseInvalid, match="end before it starts"):
        license_set(instance=instance, reference="L", valid_from=dt.date(2026, 2, 1), valid_until=dt.date(2026, 1, 1), active=True, actor=None)
    with pytest.raises(LicenseInvalid, match="reference"):
        license_set(instance=instance, reference=" ", valid_from=dt.date(2026, 1, 1), valid_until=dt.date(2026, 1, 2), active=True, actor=None)


def test_after_the_license_lapses_issuing_stops_but_earlier_tokens_keep_working(instance):
    issued = issue(instance, label="before-lapse", days=30)
    today = timezone.localdate()
    license_set(
        instance=instance, reference="LIC-acme", valid_from=today - dt.timedelta(days=30),
        valid_until=today - dt.timedelta(days=1), active=True, actor=None,
    )
    with pytest.raises(LicenseInactive):
        issue(instance, label="after-lapse")

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    response = client.get("/api/v1/token")
    assert response.status_code == 200
    assert response.json()["label"] == "before-lapse"

    # ... until it expires.
    issued.token.__class__.objects.filter(pk=issued.token.pk).update(
        created_at=timezone.now() - dt.timedelta(days=30), expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert client.get("/api/v1/token").json()["error"]["code"] == "token_expired"


@pytest.mark.parametrize(
    ("active", "starts", "ends", "state", "label"),
    [
        (True, -10, 10, "active", "active"),
        (True, 0, 0, "active", "active"),
        (False, -10, 10, "off", "switched off"),
        (False, -30, -1, "off", "switched off"),
        (True, 1, 10, "not_yet_valid", "not yet valid"),
        (True, -30, -1, "lapsed", "lapsed"),
    ],
)
def test_a_license_state_and_the_queryset_filter_agree(active, starts, ends, state, label):
    from tokens.models import License, LicenseState

    today = timezone.localdate()
    instance = make_instance(licensed=False)
    license = license_set(
        instance=instance, reference="LIC", valid_from=today + dt.timedelta(days=starts),
        valid_until=today + dt.timedelta(days=ends), active=active, actor=None,
    )
    assert license.state() == state
    assert license.state().label == label
    assert license.is_active() is (state == "active")
    for other in LicenseState:
        assert License.objects.in_state(other).filter(pk=license.pk).exists() is (other == state)


def test_an_instance_without_a_license_is_in_the_no_license_state():
    from tokens.models import license_state

    assert license_state(None).label == "no license"

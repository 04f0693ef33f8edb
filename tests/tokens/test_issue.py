"""token_issue: every row of API.md's token table, through the service."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import issue, make_instance
from tokens import secret
from tokens.errors import DaysInvalid, LabelInvalid, LabelTaken, LicenseInactive, SpacesInvalid, TokenLimitReached
from tokens.models import MAX_LIVE_TOKENS, Token, TokenEvent
from tokens.services import license_set, token_revoke

pytestmark = pytest.mark.django_db


def test_issuing_returns_the_secret_once_and_stores_only_its_hash(instance, django_user_model):
    admin = django_user_model.objects.create_user("ada", is_staff=True)
    issued = issue(instance, label="ci-main", days=7, actor=admin, spaces=["docs", "ENG"])
    token = Token.objects.get(pk=issued.token.pk)
    assert secret.is_well_formed(issued.secret)
    assert token.secret_hash == secret.hash_of(issued.secret)
    assert issued.secret not in {token.secret_hash, token.hint, token.label}
    assert token.hint == secret.hint_of(issued.secret)
    assert token.expires_at - token.created_at == dt.timedelta(days=7)
    assert token.allowed_spaces == ["DOCS", "ENG"]
    assert token.created_by == admin
    assert issued.secret not in repr(issued)
    event = TokenEvent.objects.get(token=token)
    assert (event.action, event.actor) == ("issued", admin)


@pytest.mark.parametrize("days", [1, 30])
def test_days_at_both_ends_are_accepted(instance, days):
    token = issue(instance, label=f"d{days:02d}", days=days).token
    assert token.expires_at - token.created_at == dt.timedelta(days=days)


@pytest.mark.parametrize("days", [0, 31, -1, 7.5, "7", None, True])
def test_days_outside_1_to_30_or_not_whole_are_refused(instance, days):
    with pytest.raises(DaysInvalid) as refusal:
        issue(instance, days=days)
    assert refusal.value.code == "days_invalid"
    assert "1 to 30" in refusal.value.message
    assert not Token.objects.exists()


@pytest.mark.parametrize("label", ["ab", "x" * 51, "has space", "dots.not.ok", "émoji", "", "semi;colon"])
def test_bad_labels_are_refused(instance, label):
    with pytest.raises(LabelInvalid) as refusal:
        issue(instance, label=label)
    assert refusal.value.code == "label_invalid"
    assert "3 to 50" in refusal.value.message


@pytest.mark.parametrize("label", ["abc", "x" * 50, "CI_main-2"])
def test_good_labels_are_accepted(instance, label):
    assert issue(instance, label=label).token.label == label


def test_a_label_is_unique_among_the_instances_tokens_even_revoked_ones(instance):
    first = issue(instance, label="ci-main").token
    with pytest.raises(LabelTaken):
        issue(instance, label="ci-main")
    with pytest.raises(LabelTaken):
        issue(instance, label="CI-MAIN")
    token_revoke(token=first, actor=None)
    with pytest.raises(LabelTaken) as refusal:
        issue(instance, label="ci-main")
    assert refusal.value.code == "label_taken"
    # Another instance may use the same label.
    assert issue(make_instance("other"), label="ci-main").token.label == "ci-main"


def test_the_51st_live_token_is_refused_and_revoking_or_expiry_frees_a_place(instance):
    tokens = [issue(instance, label=f"t{i:02d}").token for i in range(MAX_LIVE_TOKENS)]
    with pytest.raises(TokenLimitReached) as refusal:
        issue(instance, label="one-too-many")
    assert refusal.value.code == "token_limit_reached"
    assert "50" in refusal.value.message
    token_revoke(token=tokens[0], actor=None)
    issue(instance, label="after-revoke")
    # An expired token no longer counts either.
    Token.objects.filter(pk=tokens[1].pk).update(
        created_at=timezone.now() - dt.timedelta(days=8), expires_at=timezone.now() - dt.timedelta(days=1)
    )
    issue(instance, label="after-expiry")
    assert Token.objects.live().filter(instance=instance).count() == MAX_LIVE_TOKENS


def test_issuing_needs_an_active_license(db):
    today = timezone.localdate()
    unlicensed = make_instance("unlicensed", licensed=False)
    with pytest.raises(LicenseInactive, match="has no license"):
        issue(unlicensed)

    for name, valid_from, valid_until, active, words in [
        ("lapsed", today - dt.timedelta(days=30), today - dt.timedelta(days=1), True, "lapsed on"),
        ("future", today + dt.timedelta(days=1), today + dt.timedelta(days=30), True, "starts on"),
        ("off", today - dt.timedelta(days=1), today + dt.timedelta(days=30), False, "switched off"),
    ]:
        instance = make_instance(name, licensed=False)
        license_set(instance=instance, reference="L", valid_from=valid_from, valid_until=valid_until, active=active, actor=None)
        with pytest.raises(LicenseInactive, match=words) as refusal:
            issue(instance)
        assert refusal.value.code == "license_inactive"
    assert not Token.objects.exists()


def test_the_last_day_of_a_license_still_counts(db):
    today = timezone.localdate()
    instance = make_instance("lastday", licensed=False)
    license_set(instance=instance, reference="L", valid_from=today, valid_until=today, active=True, actor=None)
    assert issue(instance).token.pk


def test_bad_space_keys_are_refused(instance):
    with pytest.raises(SpacesInvalid):
        issue(instance, spaces=["DOCS", "not a key"])
    assert issue(instance, spaces=["docs", "DOCS", "~5b10ac8d82e05b22cc7d4ef5"]).token.allowed_spaces == [
        "DOCS",
        "~5b10ac8d82e05b22cc7d4ef5",
    ]

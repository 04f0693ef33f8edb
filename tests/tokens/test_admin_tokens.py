"""The token admin as a staff user sees it: issue once, read once, revoke with confirmation, refusals as messages."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from tests.factories import issue, make_instance
from tokens import secret
from tokens.models import MAX_LIVE_TOKENS, Token, TokenEvent

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:tokens_token_add")
LIST_URL = reverse("admin:tokens_token_changelist")


def staff(django_user_model, username, *perms, superuser=False, groups=()):
    user = django_user_model.objects.create_user(username, password="pw-for-tests-1", is_staff=True, is_superuser=superuser)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="tokens", codename__in=perms))
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(staff(django_user_model, "ada", superuser=True))
    return client


def issue_form(client):
    page = client.get(ADD_URL)
    assert page.status_code == 200
    return page, re.search(r'name="nonce" value="([^"]+)"', page.content.decode()).group(1)


def post_issue(client, instance, nonce, label="ci-docs", days="7", spaces="DOCS eng"):
    return client.post(ADD_URL, {"instance": instance.pk, "label": label, "days": days, "spaces": spaces, "nonce": nonce})


def shown_secret(response) -> str | None:
    match = re.search(r"mdi_[0-9A-Za-z]{49}", response.content.decode())
    return match.group(0) if match else None


def test_the_issue_form_offers_the_expiry_choices(admin_client, instance):
    page, _ = issue_form(admin_client)
    html = page.content.decode()
    for choice in ("1 day", "3 days", "1 week", "2 weeks", "30 days"):
        assert f">{choice}</option>" in html
    assert "Allowed spaces" in html
    # The changelist's add button is the issue form.
    assert "Issue token" in admin_client.get(LIST_URL).content.decode()


def test_the_secret_is_shown_once_in_the_response_that_issued_it(admin_client, instance):
    _, nonce = issue_form(admin_client)
    response = post_issue(admin_client, instance, nonce)
    assert response.status_code == 200
    value = shown_secret(response)
    assert value and secret.is_well_formed(value)
    assert "no-store" in response["Cache-Control"]
    assert "only time it is shown" in response.content.decode()
    assert 'id="copy-token"' in response.content.decode()
    token = Token.objects.get(label="ci-docs")
    assert token.secret_hash == secret.hash_of(value)
    assert token.allowed_spaces == ["DOCS", "ENG"]
    assert token.created_by.username == "ada"
    # Not in a cookie or the session.
    assert value not in str(response.cookies)
    assert all(value not in str(v) for v in admin_client.session.values())

    # Submitting the same form again (reload, back + resubmit) issues nothing and shows no secret.
    again = post_issue(admin_client, instance, nonce, label="ci-docs-2")
    assert again.status_code == 302
    followed = admin_client.get(again["Location"])
    assert "already submitted" in followed.content.decode()
    assert shown_secret(followed) is None
    assert Token.objects.count() == 1

    # Nor do the list or the token's own page.
    for url in (LIST_URL, reverse("admin:tokens_token_change", args=[token.pk])):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert value not in page.content.decode()
        assert token.hint in page.content.decode()


@pytest.mark.parametrize(
    ("label", "days", "words"),
    [("a b", "7", "3 to 50"), ("ok-label", "5", "Select a valid choice"), ("x" * 51, "7", "3 to 50")],
)
def test_bad_input_is_shown_on_the_form(admin_client, instance, label, days, words):
    _, nonce = issue_form(admin_client)
    response = post_issue(admin_client, instance, nonce, label=label, days=days)
    assert response.status_code == 200
    assert words in response.content.decode()
    assert shown_secret(response) is None
    assert not Token.objects.exists()


def test_refusals_are_messages_and_the_form_can_be_corrected(admin_client, instance):
    issue(instance, label="taken")
    _, nonce = issue_form(admin_client)
    response = post_issue(admin_client, instance, nonce, label="taken")
    assert response.status_code == 200
    assert "already has a token labelled" in response.content.decode()
    # The same form, corrected, goes through: nothing was issued by the refused attempt.
    assert shown_secret(post_issue(admin_client, instance, nonce, label="free"))


def test_license_and_limit_refusals(admin_client, db):
    lapsed = make_instance("lapsed", licensed=False)
    _, nonce = issue_form(admin_client)
    assert "has no license" in post_issue(admin_client, lapsed, nonce).content.decode()

    full = make_instance("full")
    for i in range(MAX_LIVE_TOKENS):
        issue(full, label=f"t{i:02d}")
    _, nonce = issue_form(admin_client)
    response = post_issue(admin_client, full, nonce, label="one-more")
    assert response.status_code == 200
    assert "already has 50 live tokens" in response.content.decode()


def test_list_shows_state_and_filters(admin_client, instance):
    live = issue(instance, label="live-one").token
    issue(instance, label="gone-one")
    admin_client.post(reverse("admin:tokens_token_revoke", args=[Token.objects.get(label="gone-one").pk]), {"post": "yes"})
    html = admin_client.get(LIST_URL).content.decode()
    for text in ("live-one", "gone-one", live.hint, ">live<", ">revoked<", "ada"):
        assert text in html
    only_live = admin_client.get(LIST_URL, {"state": "live"}).content.decode()
    assert "live-one" in only_live and "gone-one" not in only_live
    only_revoked = admin_client.get(LIST_URL, {"state": "revoked"}).content.decode()
    assert "gone-one" in only_revoked and "live-one" not in only_revoked
    assert "live-one" in admin_client.get(LIST_URL, {"instance__id__exact": instance.pk}).content.decode()


def test_revoking_one_token_asks_first_and_is_final(admin_client, instance):
    token = issue(instance, label="to-revoke").token
    change_url = reverse("admin:tokens_token_change", args=[token.pk])
    revoke_url = reverse("admin:tokens_token_revoke", args=[token.pk])
    assert revoke_url in admin_client.get(change_url).content.decode()

    confirm = admin_client.get(revoke_url)
    assert "immediate and final" in confirm.content.decode()
    assert Token.objects.get(pk=token.pk).revoked_at is None

    done = admin_client.post(revoke_url, {"post": "yes"}, follow=True)
    assert "is revoked" in done.content.decode()
    assert Token.objects.get(pk=token.pk).state() == "revoked"
    assert TokenEvent.objects.filter(token=token, action="revoked", actor__username="ada").exists()

    page = admin_client.get(change_url).content.decode()
    assert revoke_url not in page  # read-only, nothing left to do
    assert 'name="_save"' not in page
    again = admin_client.post(revoke_url, {"post": "yes"}, follow=True)
    assert "already revoked" in again.content.decode()


def test_bulk_revoke_with_confirmation(admin_client, instance):
    tokens = [issue(instance, label=f"bulk-{i}").token for i in range(3)]
    data = {"action": "revoke_selected", "_selected_action": [t.pk for t in tokens]}
    confirm = admin_client.post(LIST_URL, data)
    assert confirm.status_code == 200
    assert "these 3 tokens" in confirm.content.decode()
    assert not Token.objects.filter(revoked_at__isnull=False).exists()

    done = admin_client.post(LIST_URL, {**data, "post": "yes"}, follow=True)
    assert "Revoked 3 tokens" in done.content.decode()
    assert Token.objects.filter(revoked_at__isnull=False).count() == 3
    again = admin_client.post(LIST_URL, {**data, "post": "yes"}, follow=True)
    assert "all revoked already" in again.content.decode()


def test_no_delete_and_no_plain_add_form(admin_client, instance):
    token = issue(instance).token
    assert admin_client.get(reverse("admin:tokens_token_delete", args=[token.pk])).status_code == 403
    html = admin_client.get(LIST_URL).content.decode()
    assert "delete_selected" not in html
    assert 'name="secret_hash"' not in admin_client.get(ADD_URL).content.decode()


def test_only_staff_with_token_permissions_can_issue_or_revoke(client, django_user_model, instance):
    token = issue(instance).token
    auditor = staff(django_user_model, "audrey", groups=["auditor"])
    client.force_login(auditor)
    assert client.get(LIST_URL).status_code == 200
    assert client.get(reverse("admin:tokens_token_change", args=[token.pk])).status_code == 200
    assert client.get(ADD_URL).status_code == 403
    assert client.post(reverse("admin:tokens_token_revoke", args=[token.pk]), {"post": "yes"}).status_code == 403
    list_html = client.get(LIST_URL).content.decode()
    assert "Issue token" not in list_html and "revoke_selected" not in list_html
    client.post(LIST_URL, {"action": "revoke_selected", "_selected_action": [token.pk], "post": "yes"})
    assert Token.objects.get(pk=token.pk).revoked_at is None
    for model in ("instance", "license"):
        assert client.get(reverse(f"admin:tokens_{model}_changelist")).status_code == 200

    issuer = staff(django_user_model, "ian", "view_token", "add_token")
    client.force_login(issuer)
    _, nonce = issue_form(client)
    assert shown_secret(post_issue(client, instance, nonce))
    assert client.post(reverse("admin:tokens_token_revoke", args=[token.pk]), {"post": "yes"}).status_code == 403

    revoker = staff(django_user_model, "rita", "view_token", "revoke_token")
    client.force_login(revoker)
    assert client.get(ADD_URL).status_code == 403
    client.post(reverse("admin:tokens_token_revoke", args=[token.pk]), {"post": "yes"})
    assert Token.objects.get(pk=token.pk).revoked_at is not None

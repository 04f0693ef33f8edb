"""In a real browser: issue a token, read it once, reload and go back (not shown), revoke it, and see the API refuse it."""

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.factories import make_instance
from tokens import secret as token_secret
from tokens.models import Token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = re.compile(r"mdi_[0-9A-Za-z]{49}")


def assert_no_secret(page, value: str) -> None:
    html = page.content()
    assert value not in html
    assert not SECRET.search(html)


def test_issue_read_once_revoke_and_refused(admin_page, live_server, screenshot):
    page = admin_page
    make_instance("acme")

    page.goto(f"{live_server.url}/admin/tokens/token/")
    page.click("text=Issue token")
    page.select_option("#id_instance", label="acme")
    page.fill("#id_label", "browser-ci")
    page.select_option("#id_days", label="1 week")
    page.fill("#id_spaces", "DOCS")
    page.click("input[value='Issue token']")

    # The one time the secret is shown, with a copy button and the warning.
    page.wait_for_selector("#token-secret")
    value = page.input_value("#token-secret")
    assert token_secret.is_well_formed(value)
    assert "only time it is shown" in page.inner_text("#secret-warning")
    assert page.is_visible("#copy-token")
    page.click("#copy-token")
    # The copy is asynchronous: wait for the confirmation rather than read it at once.
    expect(page.locator("#copy-result")).to_have_text("Copied.")
    screenshot(page, "token-issued")

    # The secret works against the API.
    api = f"{live_server.url}/api/v1/token"
    answer = requests.get(api, headers={"Authorization": f"Bearer {value}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["label"] == "browser-ci"

    # Reload: the form is not accepted twice; no secret, no second token.
    page.reload()
    assert_no_secret(page, value)
    assert "already submitted" in page.inner_text("body")
    assert Token.objects.count() == 1

    # Back: the issue form, without the secret.
    page.go_back()
    assert_no_secret(page, value)

    # Forward and back again through the history, and the token's own page: never the secret.
    page.goto(f"{live_server.url}/admin/tokens/token/")
    page.go_back()
    assert_no_secret(page, value)
    page.goto(f"{live_server.url}/admin/tokens/token/")
    assert "browser-ci" in page.inner_text("#result_list")
    assert_no_secret(page, value)
    page.click("#result_list >> text=browser-ci")
    assert_no_secret(page, value)
    token = Token.objects.get(label="browser-ci")
    expect(page.locator("body")).to_contain_text(token.hint)
    screenshot(page, "token-page")

    # Revoke, with a confirmation page.
    page.click("#revoke-token")
    assert "immediate and final" in page.inner_text("#content")
    page.click("#confirm-revoke")
    assert "is revoked" in page.inner_text(".messagelist")
    assert "revoked" in page.inner_text("body")
    assert not page.is_visible("#revoke-token")
    screenshot(page, "token-revoked")

    refused = requests.get(api, headers={"Authorization": f"Bearer {value}"}, timeout=10)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_revoked"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")

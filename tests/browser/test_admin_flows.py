"""In a real browser, every admin task besides issuing and revoking (tests/browser/test_tokens.py): change a license,
the refusals of the issue form, test a connection, run a directory sync, filter and export the audit log, and an
auditor who may look but not change. Each asserts on the message the page shows, and none may end on an error page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from confluence.standin import DEFAULT_EMAIL, StandinServer
from directory.models import SyncRun
from imports.models import ImportRecord
from portal.roles import roles_sync
from tests.browser.conftest import log_in
from tests.factories import make_instance
from tokens.models import MAX_LIVE_TOKENS, License, Token
from tokens.services import license_set, token_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AUDITOR_PASSWORD = "auditor-password-1"


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinServer]:
    with StandinServer(port=0) as server:
        yield server


def assert_no_error_page(page) -> None:
    body = page.inner_text("body")
    assert "Server Error" not in body and "Traceback" not in body


def messages_of(page, level: str) -> list[str]:
    # Reading is not waiting: let the page that answers the click arrive first.
    page.wait_for_load_state()
    page.locator(".messagelist").first.wait_for()
    return page.locator(f".messagelist li.{level}").all_inner_texts()


def issue(page, live_server, *, instance: str, label: str, days: str = "1 week") -> None:
    page.goto(f"{live_server.url}/admin/tokens/token/add/")
    page.select_option("#id_instance", label=instance)
    page.fill("#id_label", label)
    page.select_option("#id_days", label=days)
    page.click("input[value='Issue token']")


def run_action(page, live_server, instance_pk: int, action: str) -> None:
    page.goto(f"{live_server.url}/admin/tokens/instance/")
    page.check(f"input[name=_selected_action][value='{instance_pk}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


# --------------------------------------------------------------------------------- licenses


def test_change_a_license_and_see_it_in_the_history(admin_page, live_server) -> None:
    page = admin_page
    acme = make_instance("acme")
    new_end = timezone.localdate() + dt.timedelta(days=20)

    page.goto(f"{live_server.url}/admin/tokens/license/")
    page.click("#result_list >> text=acme")
    page.fill("#id_valid_until", f"{new_end:%Y-%m-%d}")
    page.fill("#id_reference", "LIC-acme-renewed")
    page.click("input[name=_continue]")

    assert any("was changed successfully" in text for text in messages_of(page, "success"))
    newest = page.locator("#license-history tbody tr").first.inner_text()
    assert "browser-admin" in newest
    assert f"→ {new_end:%Y-%m-%d}" in newest and "LIC-acme-renewed" in newest
    assert License.objects.get(instance=acme).valid_until == new_end

    # The start page now warns: fewer than 30 days left.
    page.goto(f"{live_server.url}/admin/")
    card = page.locator(f"#dashboard-{acme.pk} [data-figure=license]")
    assert "active, 21 days left" in card.inner_text()
    assert "Renew soon" in card.inner_text()


def test_a_license_that_ends_before_it_starts_is_refused_with_a_message(admin_page, live_server) -> None:
    page = admin_page
    acme = make_instance("acme")
    before = License.objects.get(instance=acme).valid_until

    page.goto(f"{live_server.url}/admin/tokens/license/{acme.license.pk}/change/")
    page.fill("#id_valid_until", "2000-01-01")
    page.click("input[name=_save]")

    expect(page.locator("#content")).to_contain_text("cannot end before it starts")
    assert page.locator(".errornote").is_visible()
    assert_no_error_page(page)
    assert License.objects.get(instance=acme).valid_until == before


# --------------------------------------------------------------------------------- issue refusals


def test_every_refusal_of_the_issue_form_says_why(admin_page, live_server) -> None:
    page = admin_page
    acme = make_instance("acme")
    full = make_instance("full")
    lapsed = make_instance("lapsed")
    today = timezone.localdate()
    license_set(instance=lapsed, reference="LIC-old", valid_from=today - dt.timedelta(days=60),
                valid_until=today - dt.timedelta(days=1), active=True, actor=None)
    for n in range(MAX_LIVE_TOKENS):
        token_issue(instance=full, label=f"ci-{n:02d}", days=30, actor=None)

    issue(page, live_server, instance="acme", label="no spaces allowed!")
    expect(page.locator("#content")).to_contain_text("3 to 50 characters")
    assert_no_error_page(page)

    token_issue(instance=acme, label="ci-docs", days=7, actor=None)
    issue(page, live_server, instance="acme", label="ci-docs")
    assert "ci-docs" in " ".join(messages_of(page, "error")) or "already" in page.inner_text("#content")
    assert_no_error_page(page)

    issue(page, live_server, instance="lapsed", label="ci-late")
    refusal = " ".join(messages_of(page, "error"))
    assert "license" in refusal.lower()
    assert_no_error_page(page)

    issue(page, live_server, instance="full", label="ci-one-more")
    refusal = " ".join(messages_of(page, "error"))
    assert str(MAX_LIVE_TOKENS) in refusal
    assert_no_error_page(page)

    # None of the refused forms issued anything.
    assert Token.objects.filter(label__in=["ci-late", "ci-one-more"]).count() == 0
    assert Token.objects.filter(instance=acme).count() == 1


# --------------------------------------------------------------------------------- Confluence


def test_test_connection_against_the_standin_and_with_a_wrong_token(admin_page, live_server, standin) -> None:
    page = admin_page
    good = make_instance("acme", url=standin.url)
    bad = make_instance("wrong", base_url=standin.url, email=DEFAULT_EMAIL, api_token="ATATT-not-the-right-one")

    run_action(page, live_server, good.pk, "test_connection")
    success = messages_of(page, "success")
    assert len(success) == 1 and success[0].lower().startswith("acme: connected to")

    run_action(page, live_server, bad.pk, "test_connection")
    errors = messages_of(page, "error")
    assert len(errors) == 1 and errors[0].lower().startswith("wrong: ")
    assert "token" in errors[0].lower()
    assert not messages_of(page, "success")
    assert_no_error_page(page)


def test_run_a_directory_sync_and_see_it_on_the_dashboard(admin_page, live_server, standin, start_worker) -> None:
    page = admin_page
    acme = make_instance("acme", url=standin.url)

    page.goto(f"{live_server.url}/admin/")
    page.locator(f"#dashboard-{acme.pk} [data-figure=last-sync]").get_by_text("Run a sync").click()
    assert page.locator("#id_instance").input_value() == str(acme.pk)
    page.click("input[value='Run the sync']")

    page.wait_for_url("**/admin/directory/syncrun/*/change/")
    assert f"The sync of {acme.name} is queued" in " ".join(messages_of(page, "info"))
    start_worker("browser-sync")  # the browser does not wait for the sync: a background worker runs it
    # The run's page refreshes itself until the sync has finished, then shows its result.
    expect(page.locator(".field-result")).to_contain_text(f"Sync of {acme.name}", timeout=60_000)
    assert page.locator("#sync-refreshing").count() == 0
    run = SyncRun.objects.get(instance=acme)
    assert run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL)

    page.goto(f"{live_server.url}/admin/")
    shown = page.locator(f"#dashboard-{acme.pk} [data-figure=last-sync]").inner_text()
    assert "never synced" not in shown
    assert f"{run.get_status_display()}, {run.pages_seen} page" in shown


def test_a_sync_with_a_wrong_token_fails_with_a_message(admin_page, live_server, standin, start_worker) -> None:
    page = admin_page
    bad = make_instance("wrong", base_url=standin.url, email=DEFAULT_EMAIL, api_token="ATATT-not-the-right-one")
    page.goto(f"{live_server.url}/admin/directory/syncrun/run/?instance={bad.pk}")
    page.click("input[value='Run the sync']")
    start_worker("browser-sync")
    expect(page.locator(".field-result")).to_contain_text("Sync of wrong failed", timeout=60_000)
    expect(page.locator(".field-error_list")).to_contain_text("check the instance")
    assert_no_error_page(page)


# --------------------------------------------------------------------------------- audit log


def test_filter_the_audit_log_open_a_record_and_export_it(admin_page, live_server, tmp_path) -> None:
    page = admin_page
    acme = make_instance("acme")
    globex = make_instance("globex")
    now = timezone.now()
    ImportRecord.objects.bulk_create(
        [ImportRecord(instance=acme, received_at=now - dt.timedelta(minutes=n), status="succeeded",
                      title=f"Good page {n}", duration_ms=100) for n in range(5)]
        + [ImportRecord(instance=acme, received_at=now - dt.timedelta(minutes=10 + n), status="failed",
                        error_code="confluence_unavailable", http_status=503, title=f"Unlucky page {n}",
                        error_message="Confluence did not answer") for n in range(3)]
        + [ImportRecord(instance=globex, received_at=now, status="failed", error_code="confluence_rejected",
                        title="=cmd|' /C calc'!A0")]
    )

    page.goto(f"{live_server.url}/admin/imports/importrecord/")
    page.locator("#changelist-filter a[href*='status__exact=failed']").click()
    page.locator(f"#changelist-filter a[href*='instance__id__exact={acme.pk}']").click()
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3
    assert all("Unlucky page" in text and "confluence_unavailable" in text for text in rows.all_inner_texts())

    # One record: read-only, with what happened.
    rows.first.locator("th a, td a").first.click()
    page.wait_for_url("**/admin/imports/importrecord/*/change/**")
    detail = page.inner_text("#content")
    assert "confluence_unavailable" in detail and "Confluence did not answer" in detail and "503" in detail
    assert page.locator("input[name=_save]").count() == 0
    page.go_back()

    # The export carries the same filters.
    with page.expect_download() as download_info:
        page.click("text=Export CSV")
    download = download_info.value
    assert download.suggested_filename.startswith("imports-") and download.suggested_filename.endswith(".csv")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    exported = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert len(exported) == 3
    assert {row["status"] for row in exported} == {"failed"}
    assert {row["instance"] for row in exported} == {"acme"}
    assert sorted(row["title"] for row in exported) == ["Unlucky page 0", "Unlucky page 1", "Unlucky page 2"]


# --------------------------------------------------------------------------------- auditor


def auditor_group() -> Group:
    """The declared role, as migrate leaves it. A transactional test flushes the tables after each test, so the
    rows the post-migrate sync wrote may be gone by now: sync again."""
    roles_sync()
    return Group.objects.get(name="auditor")


def auditor_page(page, live_server, django_user_model):
    auditor = django_user_model.objects.create_user("auditor-ann", password=AUDITOR_PASSWORD, is_staff=True)
    auditor.groups.add(auditor_group())
    log_in(page, live_server, "auditor-ann", AUDITOR_PASSWORD)
    return page


def test_an_auditor_can_open_an_instance(page, live_server, django_user_model) -> None:
    acme = make_instance("acme")
    page = auditor_page(page, live_server, django_user_model)
    response = page.goto(f"{live_server.url}/admin/tokens/instance/{acme.pk}/change/")
    assert response.status == 200
    assert "acme" in page.inner_text("#content")
    assert page.locator("input[name=_save]").count() == 0


def test_an_auditor_can_see_but_not_change(page, live_server, django_user_model) -> None:
    acme = make_instance("acme")
    issued = token_issue(instance=acme, label="ci-docs", days=7, actor=None)
    page = auditor_page(page, live_server, django_user_model)

    # The dashboard's instance figures, without a way to change anything from there.
    board = page.locator(f"#dashboard-{acme.pk}")
    assert board.locator("[data-figure=live-tokens] .portal-dash-big").inner_text() == "1 / 50"
    assert board.get_by_text("Run a sync").count() == 0

    # Licenses and tokens: readable, no save, no issue, no revoke, no actions that write.
    page.goto(f"{live_server.url}/admin/tokens/license/{acme.license.pk}/change/")
    assert "LIC-acme" in page.inner_text("#content")
    assert page.locator("input[name=_save]").count() == 0
    page.goto(f"{live_server.url}/admin/tokens/token/")
    assert "ci-docs" in page.inner_text("#result_list")
    assert page.get_by_text("Issue token").count() == 0
    page.goto(f"{live_server.url}/admin/tokens/token/{issued.token.pk}/change/")
    assert issued.token.hint in page.inner_text("#content")
    assert page.locator("#revoke-token").count() == 0

    # The audit log: readable and exportable, never editable.
    ImportRecord.objects.create(instance=acme, status="failed", error_code="confluence_unavailable", title="Seen")
    page.goto(f"{live_server.url}/admin/")
    assert board.locator("[data-figure=top-errors]").inner_text().split()[-2:] == ["confluence_unavailable", "1"]
    board.locator("[data-figure=top-errors] a").first.click()
    page.locator("#result_list tbody tr").first.locator("th a, td a").first.click()
    expect(page.locator("#content")).to_contain_text("Seen")
    assert page.locator("input[name=_save]").count() == 0
    page.go_back()
    with page.expect_download() as download_info:
        page.click("text=Export CSV")
    assert download_info.value.suggested_filename.endswith(".csv")

    # Going to a writing page directly is refused with a page that says so, never a server error.
    for path in ("/admin/tokens/token/add/", f"/admin/tokens/token/{issued.token.pk}/revoke/",
                 "/admin/tokens/instance/add/", "/admin/directory/syncrun/run/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 403, path
        assert "not allowed" in page.inner_text("body").lower(), path
        assert_no_error_page(page)
    assert Token.objects.get(pk=issued.token.pk).revoked_at is None

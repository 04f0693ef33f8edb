"""In a real browser: an admin watches a publication make progress (run by a real background worker) and opens its
pages in Confluence; then reviews an orphan and archives it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from confluence.standin import StandinServer
from publications.models import Publication, PublishedPage
from tests.factories import bearer_client, make_instance
from tests.publications.archives import make_zip
from tests.publications.conftest import post_bundle
from tests.publications.trees import docs_tree
from tokens.services import token_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    with StandinServer(port=0) as server:
        yield server


def test_an_admin_watches_a_publication_progress_and_opens_its_pages(
    admin_page, live_server, standin, start_worker, screenshot
) -> None:
    page = admin_page
    acme = make_instance("acme", url=standin.url)
    api = bearer_client(token_issue(instance=acme, label="ci-docs", days=1, actor=None).secret)
    location = post_bundle(api, make_zip(docs_tree()), sourceRef="handbook@1")["Location"]
    publication = Publication.objects.get()
    standin.set_knobs(latency_ms=120)  # slow enough that the bar is seen moving

    page.goto(f"{live_server.url}/admin/publications/publication/")
    expect(page.locator("#result_list")).to_contain_text("handbook@1")
    page.click("#result_list a[href*='/change/']")
    expect(page.locator("#publication-state")).to_have_text("queued")

    start_worker("browser-worker")
    bar = page.locator("#publication-bar")
    # The script polls the admin's progress view: the bar moves while the page is left open, without a reload.
    expect(page.locator("#publication-state")).to_have_text("running", timeout=30_000)
    expect(page.locator(".page-status")).to_have_count(24, timeout=30_000)  # the planned pages, listed once
    page.wait_for_function("Number(document.getElementById('publication-bar').value) >= 3", timeout=60_000)
    moving = int(bar.get_attribute("value") or 0)
    assert 3 <= moving < 24
    # Pages finish in place, with their link into Confluence, while others are still pending.
    expect(page.locator(".page-status", has_text="created").first).to_be_visible()
    assert page.locator(".page-status", has_text="pending").count() > 0
    assert page.locator(".page-link a").count() >= 3
    screenshot(page, "publication-running")

    # Once finished the page reloads itself and shows every page with a link into Confluence.
    expect(page.locator("#publication-state")).to_have_text("succeeded", timeout=120_000)
    expect(page.locator("#publication-count")).to_have_text("24 / 24")
    expect(page.locator(".page-status").first).to_have_text("created")
    screenshot(page, "publication-succeeded")
    setup = page.locator("tr", has_text="guide/setup.md").locator(".page-link a")
    with page.expect_popup() as popup_info:
        setup.click()
    opened = popup_info.value
    opened.wait_for_load_state()
    expect(opened.locator("h1")).to_have_text("Setup")
    assert opened.url.startswith(standin.url)
    opened.close()
    assert api.get(location).json()["state"] == "succeeded"

    # The audit record of a page write is one click away.
    page.locator("tr", has_text="guide/setup.md").get_by_text("page write").click()
    expect(page.locator(".field-title")).to_contain_text("Setup")
    expect(page.locator(".field-operation")).to_contain_text("created")
    assert publication.pk


def test_an_admin_archives_a_reviewed_orphan(admin_page, live_server, standin, start_worker) -> None:
    page = admin_page
    acme = make_instance("acme", url=standin.url)
    api = bearer_client(token_issue(instance=acme, label="ci-docs", days=1, actor=None).secret)
    files = {"notes/README.md": b"# Notes\n", "notes/old.md": b"# Old note\n", "notes/new.md": b"# New note\n"}
    post_bundle(api, make_zip(files), sourceRef="notes@1")
    del files["notes/old.md"]
    post_bundle(api, make_zip(files), sourceRef="notes@2")
    start_worker("browser-worker")
    old = None
    for _ in range(600):
        old = PublishedPage.objects.filter(title="Old note", orphaned_by__isnull=False).first()
        if old is not None:
            break
        page.wait_for_timeout(100)
    assert old is not None

    page.goto(f"{live_server.url}/admin/publications/publishedpage/?orphaned=yes")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.check(f"input[name=_selected_action][value='{old.pk}']")
    page.select_option("select[name=action]", "archive_in_confluence")
    page.click("button[name=index]")

    expect(page.locator(".messagelist .success")).to_contain_text("Archived in Confluence: Old note")
    assert standin.state.pages[int(old.page_id)].status == "archived"
    page.goto(f"{live_server.url}/admin/publications/publishedpage/?orphaned=yes")
    expect(page.locator("#result_list tbody tr")).to_have_count(0)

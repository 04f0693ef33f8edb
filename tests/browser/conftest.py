"""Fixtures for tests that drive Debian's Chromium with Playwright against pytest-django's live server.

    def test_something(admin_page, live_server, screenshot): ...

`admin_page` is a Playwright page logged in to the admin as a superuser; `screenshot(page, "name")` saves
artifacts/browser/name.png (a git-ignored folder) for a person to look at. Tests using these fixtures need
`@pytest.mark.browser` and `@pytest.mark.django_db(transaction=True)` (the live server reads the database
from another thread, so the test's data must be committed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
ADMIN_USERNAME = "browser-admin"
ADMIN_PASSWORD = "browser-admin-password-1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium(live_server) -> Iterator:
    """Chromium for one test, started after the live server and the test database are set up.

    Playwright's sync API keeps its asyncio loop registered on the main thread while it runs, and Django
    refuses ORM calls from a thread with a running loop. Nothing of Django runs on that loop (Playwright
    only switches to it inside its own calls), so the check is switched off for as long as Playwright runs,
    and only then: started per test, not per session, so other tests keep the check.
    """
    import os

    from django.db import connections
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                # While Playwright's loop runs, Django keeps the test's ORM connections apart from the
                # ones it knows outside it; close them here, inside, or PostgreSQL later refuses to drop
                # the test database ("being accessed by other users").
                connections.close_all()
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_context(chromium) -> Iterator:
    # A fresh context per test: its own cookies, cache and history.
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context) -> Iterator:
    page = browser_context.new_page()
    yield page
    page.close()


@pytest.fixture
def admin_user(django_user_model, live_server):
    return django_user_model.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)


def log_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


@pytest.fixture
def admin_page(admin_user, live_server, page):
    log_in(page, live_server, ADMIN_USERNAME, ADMIN_PASSWORD)
    return page


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    def take(page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take

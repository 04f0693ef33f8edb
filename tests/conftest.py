"""Suite-wide fixtures and the rules for tests that need PostgreSQL or a browser."""

import functools
import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"


def _database_vendor() -> str:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    return "postgresql" if "postgresql" in engine else "sqlite"


def _browser_missing_reason() -> str | None:
    if not shutil.which(CHROMIUM):
        return f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package (make test installs requirements-dev.txt)"
    return None


def pytest_collection_modifyitems(config, items):
    vendor = _database_vendor()
    browser_reason = _browser_missing_reason()
    for item in items:
        if "postgres" in item.keywords and vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (.ci/run does)"))
        # In CI a missing browser is a broken set-up, not a reason to skip: the tests run and fail.
        if "browser" in item.keywords and browser_reason and os.environ.get("CI") != "true":
            item.add_marker(pytest.mark.skip(reason=browser_reason))


@pytest.fixture
def fake_sleep(monkeypatch):
    """Every Confluence client the portal builds during the test waits on a fake clock; the cache starts empty."""
    from tests.fakes import FakeTime
    from tokens import confluence as instance_confluence

    fake = FakeTime()
    real_build = instance_confluence.build_client

    def build(instance, **overrides):
        return real_build(instance, sleep=fake.sleep, clock=fake.clock, random=lambda: 0.5, **overrides)

    monkeypatch.setattr(instance_confluence, "build_client", build)
    instance_confluence._clients.clear()
    yield fake
    instance_confluence._clients.clear()


# Real background worker processes, for every suite that needs one (publications, the admin's directory sync).
from tests.publications.workers import start_worker  # noqa: E402,F401


@pytest.fixture(scope="session")
def standin_session():
    """One stand-in Confluence for the whole run (tests reset it through `standin`)."""
    from confluence.standin import StandinServer

    with StandinServer(port=0) as server:
        yield server


@pytest.fixture
def standin(standin_session):
    """The session's stand-in, reset to its seed data with no knobs set, for each test."""
    standin_session.reset()
    return standin_session


@pytest.fixture(autouse=True)
def answers_rendered_as_drf_renders_them(monkeypatch):
    """Every answer rendered anywhere in the suite is also rendered by DRF's own Serializer.to_representation, and
    must be the same, fields in the same order: portal.api.AnswerSerializer's shorter road changes nothing.

    Some answers read the database as they render (a publication's pages), and a worker may write between two
    renders of one that is running; so DRF's answer must equal the shorter road's taken just before or just after
    it. A real difference repeats every time; a few tries tell it from a row that moved."""
    from rest_framework import serializers

    from portal.api import AnswerSerializer

    shorter_road = AnswerSerializer.to_representation

    @functools.wraps(shorter_road)
    def checked(self, instance):
        answer = shorter_road(self, instance)
        for _ in range(5):
            drf = list(serializers.Serializer.to_representation(self, instance).items())
            if list(answer.items()) == drf:
                return answer
            answer = shorter_road(self, instance)
            if list(answer.items()) == drf:
                return answer
        raise AssertionError(f"{type(self).__name__}: {answer!r} != DRF's {dict(drf)!r}")

    monkeypatch.setattr(AnswerSerializer, "to_representation", checked)

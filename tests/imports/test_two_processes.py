"""Two app processes (gunicorn, two workers) on one database: no lost import, no duplicate page.

Runs on SQLite and on PostgreSQL (DATABASE_URL=postgres://...): the workers share the test database,
the test talks to them over HTTP like any client.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db import connection

from imports.models import ImportRecord
from tests.factories import make_instance
from tokens.services import token_issue

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = f"{quote(db['USER'])}:{quote(db['PASSWORD'])}@" if db["USER"] else ""
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def rate_limit() -> int:
    return 100000


@pytest.fixture
def gunicorn(settings, rate_limit):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "DATABASE_URL": database_url(),
        "IMPORT_RATE_LIMIT_PER_MINUTE": str(rate_limit),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "8",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "portal/gunicorn.conf.py", "portal.wsgi"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def secret(standin):
    instance = make_instance("acme", url=standin.url)
    return token_issue(instance=instance, label="load", days=1, actor=None).secret


def post(url: str, secret: str, body: dict, **headers) -> requests.Response:
    return requests.post(
        f"{url}/api/v1/imports", json=body, timeout=60, headers={"Authorization": f"Bearer {secret}", **headers}
    )


def test_200_concurrent_imports_give_200_pages_and_200_records(gunicorn, secret, standin):
    standin.set_knobs(latency_ms=10)

    def one(n: int) -> int:
        return post(gunicorn, secret, {"spaceId": "DOCS", "pageTitle": f"Load {n}", "content": f"Page {n}"}).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(one, range(200)))

    assert statuses == [201] * 200
    titles = {p.title for p in standin.state.pages.values() if p.title.startswith("Load ")}
    assert len(titles) == 200
    assert ImportRecord.objects.filter(status="succeeded", operation="created").count() == 200
    assert ImportRecord.objects.exclude(status="succeeded").count() == 0


def test_one_idempotency_key_from_10_clients_at_once_creates_one_page(gunicorn, secret, standin):
    standin.set_knobs(latency_ms=50)  # long enough that the clients overlap
    body = {"spaceId": "DOCS", "pageTitle": "Once only", "content": "Exactly one page"}
    start = threading.Barrier(10)

    def one(_: int) -> requests.Response:
        start.wait()
        return post(gunicorn, secret, body, **{"Idempotency-Key": "deploy-2026-11-22"})

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(one, range(10)))

    outcomes = sorted(
        r.json()["error"]["code"] if r.status_code >= 400 else r.json()["status"] for r in responses
    )
    assert set(outcomes) <= {"created", "import_in_progress"}, outcomes
    assert "created" in outcomes
    created_ids = {r.json()["pageId"] for r in responses if r.status_code == 201}
    assert len(created_ids) == 1
    pages = [p for p in standin.state.pages.values() if p.title == "Once only" and p.status == "current"]
    assert len(pages) == 1
    assert ImportRecord.objects.filter(status="succeeded").count() == 1
    assert ImportRecord.objects.count() == 10  # every request left its record


@pytest.mark.parametrize("rate_limit", [7])
def test_the_rate_limit_holds_for_24_requests_at_once_across_two_processes(gunicorn, secret, standin):
    standin.set_knobs(latency_ms=20)
    start = threading.Barrier(24)

    def one(n: int) -> requests.Response:
        start.wait()
        return post(gunicorn, secret, {"spaceId": "DOCS", "pageTitle": f"Burst {n}", "content": f"Page {n}"})

    with ThreadPoolExecutor(max_workers=24) as pool:
        responses = list(pool.map(one, range(24)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 7 + [429] * 17
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len([p for p in standin.state.pages.values() if p.title.startswith("Burst ")]) == 7
    assert ImportRecord.objects.filter(status="succeeded").count() == 7
    assert ImportRecord.objects.filter(status="rejected", error_code="rate_limited").count() == 17
    # Refused requests do not count: the token is still at its limit, not beyond it, and still refused.
    assert post(gunicorn, secret, {"spaceId": "DOCS", "pageTitle": "One more", "content": "x"}).status_code == 429

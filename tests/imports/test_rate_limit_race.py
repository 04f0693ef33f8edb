"""The per-token rate limit under a race: requests of one token that read the count at the same moment.

Each thread has its own database connection, and the rate-limit read is slowed down so that every request reads
it while the others are between their read and their insert. What keeps the limit exact is then the database's
locking alone: the token's row lock on PostgreSQL, BEGIN IMMEDIATE's write lock on SQLite (a file test database).
"""

import threading

import pytest
from django.db import connection
from django.test import override_settings

from imports import services
from imports.models import ImportRecord
from tests.factories import bearer_client

from .conftest import post_import

pytestmark = pytest.mark.django_db(transaction=True)
REQUESTS, LIMIT = 10, 3


@override_settings(IMPORT_RATE_LIMIT_PER_MINUTE=LIMIT)
def test_requests_that_race_for_the_last_places_never_pass_the_limit(issued, standin, monkeypatch):
    read = services.nth_newest_counted_import

    def slow_read(**kwargs):
        found = read(**kwargs)
        threading.Event().wait(0.05)  # the others read now, if nothing holds them back
        return found

    monkeypatch.setattr(services, "nth_newest_counted_import", slow_read)
    start = threading.Barrier(REQUESTS)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(number: int) -> None:
        try:
            start.wait()
            status = post_import(
                bearer_client(issued.secret), {"spaceId": "DOCS", "pageTitle": f"Race {number}", "content": "x"}
            ).status_code
        finally:
            connection.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [201] * LIMIT + [429] * (REQUESTS - LIMIT)
    assert ImportRecord.objects.filter(status="succeeded").count() == LIMIT
    assert ImportRecord.objects.filter(error_code="rate_limited").count() == REQUESTS - LIMIT

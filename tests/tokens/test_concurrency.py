"""100 admins or app servers issuing at once against one instance: exactly 50 live tokens, 50 clean refusals.

Each thread has its own database connection, so the database's locking is what is tested: the row lock
of select_for_update on PostgreSQL, BEGIN IMMEDIATE's write lock on SQLite (a file test database).
"""

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from tests.factories import make_instance
from tokens.errors import TokenServiceError
from tokens.models import MAX_LIVE_TOKENS, Token
from tokens.services import token_issue

ATTEMPTS = 100


@pytest.mark.django_db(transaction=True)
def test_100_concurrent_issues_leave_exactly_50_live_tokens():
    instance = make_instance("race")
    start = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(number: int) -> None:
        try:
            start.wait()
            token_issue(instance=instance, label=f"race-{number:03d}", days=7, actor=None)
            outcome = "issued"
        except TokenServiceError as refusal:
            outcome = refusal.code
        except Exception as error:  # anything else is a failure of the test's subject, kept for the assert
            outcome = f"crash: {error!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    started = time.perf_counter()
    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - started

    counts = Counter(outcomes)
    assert counts == {"issued": MAX_LIVE_TOKENS, "token_limit_reached": ATTEMPTS - MAX_LIVE_TOKENS}, counts
    assert Token.objects.live().filter(instance=instance).count() == MAX_LIVE_TOKENS
    print(f"{ATTEMPTS} concurrent issues on {connection.vendor}: {elapsed:.2f}s")

"""What every worker publishing to one instance shares through the database: the 429 backoff and the page slots."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connections
from django.utils import timezone

from confluence.client import ConfluenceClient
from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN
from publications.models import InstanceGate, InstanceSlot
from publications.throttle import DatabaseThrottle, instance_slot, slot_release, slot_try, slots_renew

pytestmark = pytest.mark.django_db(transaction=True)


def client(url: str, throttle: DatabaseThrottle) -> ConfluenceClient:
    return ConfluenceClient(base_url=url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN, throttle=throttle, read_timeout=5)


def test_a_429_to_one_worker_makes_every_worker_of_the_instance_wait(instance, standin):
    # Two throttles are two worker processes: they share nothing but the database.
    first, second = DatabaseThrottle(instance.pk), DatabaseThrottle(instance.pk)
    standin.fail(429, retry_after=1, times=1, op="getSpaces")
    with client(standin.url, first) as one, client(standin.url, second) as other:
        started = time.monotonic()
        assert one.space("DOCS").key == "DOCS"  # waited out its own 429
        took_first = time.monotonic() - started
        gate = InstanceGate.objects.get(instance=instance).paused_until
        assert gate is not None
        # The other worker's next request, sent while the gate is closed, waits for it to open.
        InstanceGate.objects.filter(instance=instance).update(paused_until=timezone.now() + dt.timedelta(seconds=1))
        started = time.monotonic()
        other.space("DEMO")
        took_second = time.monotonic() - started
    assert took_first >= 0.9
    assert took_second >= 0.9
    assert second.waited >= 0.9
    assert standin.stats()["operations"]["getSpaces"] == 3  # the 429, the retry, and the other's one call


def test_a_backoff_only_ever_lengthens_the_pause(instance):
    throttle = DatabaseThrottle(instance.pk)
    throttle.backoff(5)
    long_pause = InstanceGate.objects.get(instance=instance).paused_until
    DatabaseThrottle(instance.pk).backoff(1)
    assert InstanceGate.objects.get(instance=instance).paused_until == long_pause


def test_slots_bound_the_pages_in_flight_per_instance(instance, settings):
    settings.PUBLICATION_CONCURRENCY_PER_INSTANCE = 2
    assert slot_try(instance.pk, "worker-a/1") == 0
    assert slot_try(instance.pk, "worker-b/1") == 1
    assert slot_try(instance.pk, "worker-c/1") is None
    slot_release(instance.pk, 0, "worker-a/1")
    assert slot_try(instance.pk, "worker-c/1") == 0


def test_a_dead_holders_slot_frees_itself_when_its_lease_runs_out_and_a_live_one_renews(instance, settings):
    settings.PUBLICATION_CONCURRENCY_PER_INSTANCE = 1
    assert slot_try(instance.pk, "dead-worker/1") == 0
    assert slot_try(instance.pk, "live-worker/1") is None
    InstanceSlot.objects.filter(holder="dead-worker/1").update(leased_until=timezone.now() - dt.timedelta(seconds=1))
    assert slot_try(instance.pk, "live-worker/1") == 0
    before = InstanceSlot.objects.get(holder="live-worker/1").leased_until
    assert slots_renew(instance.pk, "live-worker") == 1
    assert InstanceSlot.objects.get(holder="live-worker/1").leased_until > before


def test_threads_that_hold_slots_never_exceed_the_bound(instance, settings):
    settings.PUBLICATION_CONCURRENCY_PER_INSTANCE = 3
    inside, peak, lock = 0, 0, threading.Lock()

    def page(n: int) -> None:
        nonlocal inside, peak
        try:
            with instance_slot(instance.pk, f"w/{n}"):
                with lock:
                    inside += 1
                    peak = max(peak, inside)
                time.sleep(0.05)
                with lock:
                    inside -= 1
        finally:
            connections.close_all()

    threads = [threading.Thread(target=page, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 3
    assert not InstanceSlot.objects.exclude(holder="").exists()

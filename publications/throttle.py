"""What every worker process publishing to one instance shares, kept in the database so it holds across processes
and hosts, on SQLite and PostgreSQL alike.

- `DatabaseThrottle` is the Confluence client's throttle: ``wait()`` before each request holds it while the
  instance's gate is closed; ``backoff(seconds)`` (on a 429) closes the gate for everyone, not only the caller.
- `instance_slot()` bounds the pages being written to one instance at once (PUBLICATION_CONCURRENCY_PER_INSTANCE).
  Slots are leases: a dead worker's slot frees itself when its lease runs out, and a live one renews it while waiting.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from publications.models import InstanceGate, InstanceSlot

# How often a waiting holder looks for a free slot again, and how often the gate is read between requests.
SLOT_POLL_SECONDS = 0.05
GATE_READ_SECONDS = 0.25
LONGEST_PAUSE = 300.0  # a Retry-After beyond this is Confluence's mistake, not a reason to stop for an hour


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PUBLICATION_STALE_AFTER_SECONDS)


class DatabaseThrottle:
    """The throttle of one instance's Confluence client (see confluence.client.ConfluenceClient)."""

    def __init__(
        self,
        instance_id: int,
        *,
        on_wait: Callable[[], None] | None = None,
        before_request: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.instance_id = instance_id
        self._on_wait = on_wait or (lambda: None)
        self._before_request = before_request
        self._sleep = sleep
        self._checked_at = 0.0
        self._paused_until: dt.datetime | None = None
        self.waited = 0.0
        InstanceGate.objects.get_or_create(instance_id=instance_id)

    def _read(self) -> dt.datetime | None:
        now = time.monotonic()
        if now - self._checked_at >= GATE_READ_SECONDS:
            self._paused_until = (
                InstanceGate.objects.filter(instance_id=self.instance_id).values_list("paused_until", flat=True).first()
            )
            self._checked_at = now
        return self._paused_until

    def wait(self) -> None:
        if self._before_request is not None:
            self._before_request()  # e.g. take one of the instance's slots for the page this thread writes
        while True:
            until = self._read()
            remaining = (until - timezone.now()).total_seconds() if until else 0.0
            if remaining <= 0:
                return
            step = min(remaining, 1.0)
            self.waited += step
            self._on_wait()
            self._sleep(step)
            self._checked_at = 0.0  # another worker may have shortened or lengthened the pause

    def backoff(self, seconds: float) -> None:
        until = timezone.now() + dt.timedelta(seconds=min(max(seconds, 0.0), LONGEST_PAUSE))
        # Only ever lengthens the pause: two workers told "1 s" and "5 s" both wait 5 s.
        InstanceGate.objects.filter(
            Q(paused_until__isnull=True) | Q(paused_until__lt=until), instance_id=self.instance_id
        ).update(paused_until=until)
        self._checked_at = 0.0


def _ensure_slots(instance_id: int, count: int) -> None:
    existing = set(InstanceSlot.objects.filter(instance_id=instance_id).values_list("number", flat=True))
    missing = [InstanceSlot(instance_id=instance_id, number=n) for n in range(count) if n not in existing]
    if missing:
        try:
            with transaction.atomic():
                InstanceSlot.objects.bulk_create(missing, ignore_conflicts=True)
        except IntegrityError:
            pass  # another worker made them first


def slot_try(instance_id: int, holder: str) -> int | None:
    """Take a free or expired slot of the instance for ``holder``, or None when all are held."""
    count = max(1, settings.PUBLICATION_CONCURRENCY_PER_INSTANCE)
    _ensure_slots(instance_id, count)
    now = timezone.now()
    for number in range(count):
        taken = InstanceSlot.objects.filter(
            Q(holder="") | Q(leased_until__lt=now), instance_id=instance_id, number=number
        ).update(holder=holder, leased_until=now + _lease())
        if taken:
            return number
    return None


def slots_renew(instance_id: int, holder_prefix: str) -> int:
    """Extend the leases of every slot whose holder starts with ``holder_prefix`` (one run's page threads)."""
    return InstanceSlot.objects.filter(instance_id=instance_id, holder__startswith=holder_prefix).update(
        leased_until=timezone.now() + _lease()
    )


def slot_release(instance_id: int, number: int, holder: str) -> None:
    InstanceSlot.objects.filter(instance_id=instance_id, number=number, holder=holder).update(
        holder="", leased_until=None
    )


def slot_acquire(instance_id: int, holder: str, *, sleep: Callable[[float], None] = time.sleep) -> int:
    """Take one of the instance's slots, waiting for one to free up."""
    number = slot_try(instance_id, holder)
    while number is None:
        sleep(SLOT_POLL_SECONDS)
        number = slot_try(instance_id, holder)
    return number


@contextmanager
def instance_slot(instance_id: int, holder: str, *, sleep: Callable[[float], None] = time.sleep) -> Iterator[int]:
    """Hold one of the instance's slots for the duration of the block, waiting for one to free up."""
    number = slot_acquire(instance_id, holder, sleep=sleep)
    try:
        yield number
    finally:
        slot_release(instance_id, number, holder)

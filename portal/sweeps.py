"""Sweeps: the small recurring tasks that notice work whose worker died, run on the task framework like any task.

The task framework leaves a task whose worker was killed marked as running for ever, so each app that runs work
on workers owns a sweep of its own: a task without arguments that does one round (requeue or fail what has gone
silent) and then calls `sweep_ensure` again while the app still has work of its kind queued or running. Queueing
such work calls `sweep_ensure` too, so a sweep is waiting whenever there is something to watch and none when there
is nothing, and no process runs a loop or thread of its own.

`sweep_ensure` queues at most one waiting sweep per task: the look for one already waiting and the insert are
serialised (SQLite: the IMMEDIATE transaction holds the write lock; PostgreSQL: a transaction-scoped advisory lock
on the task's path), so any number of app servers and workers may call it at once.

`run_worker` calls `sweeps_ensure()` when it starts, so a sweep whose own worker was killed mid-round (leaving no
waiting sweep behind) comes back with the next worker. Apps register their ensure function from
`AppConfig.ready()`; this module imports no app.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable
from typing import TypeVar

from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

# Ahead of the queued work: a sweep that is due should not wait behind the publications it is there to rescue.
SWEEP_PRIORITY = 50

_ensurers: list[Callable[[], object]] = []

T = TypeVar("T")


def sweep_register(*, ensure: Callable[[], object]) -> None:
    """Record an app's function that ensures its sweep (called by `sweeps_ensure`, e.g. when a worker starts)."""
    if ensure not in _ensurers:
        _ensurers.append(ensure)


def sweeps_ensure() -> None:
    """Make sure every registered sweep is waiting (a no-op for those that are)."""
    for ensure in _ensurers:
        ensure()


def sweep_ensure(*, task: Task, stale_after: float) -> bool:
    """Queue `task` (a sweep: no arguments) unless one is already waiting, to run a quarter of `stale_after` (the
    silence after which work counts as dead, in seconds) from now, at least 1 s: a dead worker's work is then noticed
    at most 1.25 × `stale_after` after its last report.

    Returns True when it queued one. Inside the caller's transaction when there is one, so work and the sweep that
    watches it are committed together.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(task.module_path)])
        waiting = DBTaskResult.objects.filter(
            task_path=task.module_path, backend_name=task.backend, status=TaskResultStatus.READY
        )
        if waiting.exists():
            return False
        task.using(run_after=timezone.now() + dt.timedelta(seconds=max(1.0, stale_after / 4))).enqueue()
        return True


def sweep_round(*, sweep: Callable[[], T], in_flight: Callable[[], bool], ensure: Callable[[], object]) -> T:
    """One round of a sweep task: `sweep()`, then the sweep queued again (`ensure()`) while `in_flight()` says the
    app still has work queued or running, and not when it has none.

    It comes back even when the round failed (the database went away for a moment): a sweep that does not come back
    leaves the next dead worker's work running for ever.
    """
    try:
        return sweep()
    finally:
        if in_flight():
            ensure()


def _lock_key(name: str) -> int:
    # A stable signed 64-bit key per sweep; the high bits keep clear of small keys other code might take.
    return (0x5357 << 32) | zlib.crc32(name.encode())

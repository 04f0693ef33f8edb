"""`portal.sweeps`: however many processes queue work at once, one sweep per app waits (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from directory.tasks import directory_sync_sweep_task
from portal.sweeps import sweep_ensure


@pytest.mark.django_db(transaction=True)
def test_callers_racing_to_queue_a_sweep_leave_exactly_one_waiting():
    callers = 8
    line_up = threading.Barrier(callers)
    queued: list[bool] = []
    failures: list[BaseException] = []

    def call() -> None:
        try:
            line_up.wait()
            queued.append(sweep_ensure(task=directory_sync_sweep_task, stale_after=240))
        except BaseException as exc:  # reported below, with the thread's own error
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures, failures
    assert sorted(queued) == [False] * (callers - 1) + [True]
    waiting = DBTaskResult.objects.filter(task_path=directory_sync_sweep_task.module_path, status=TaskResultStatus.READY)
    assert waiting.count() == 1

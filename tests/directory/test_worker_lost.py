"""A directory sync whose process dies: its heartbeat stops, the directory's sweep (a task on the queue, run by any
worker) marks it failed with what it had synced, and the admin shows that instead of "running" for ever.

The first test kills a real `manage.py run_worker` (SIGKILL) in the middle of a sync against the stand-in over HTTP
and lets a second worker notice; the others drive the sweep through its services.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from directory import services
from directory.models import SyncRun
from directory.services import sync_enqueue, sync_run, sync_runs_fail_stale, sync_runs_sweep
from tests.publications.workers import wait_for
from tests.tasks import run_queued_tasks

SWEEP = "directory.tasks.directory_sync_sweep_task"


def waiting_sweeps(path: str = SWEEP) -> DBTaskResult:
    return DBTaskResult.objects.filter(task_path=path, status=TaskResultStatus.READY)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_sync_whose_worker_is_killed_ends_failed_with_what_it_had_synced(
    admin_client, instance, standin, start_worker, settings
):
    # Every process of one deployment has the same settings: this one queues the sweep, the workers run it.
    settings.DIRECTORY_SYNC_STALE_AFTER_SECONDS = 3
    standin.set_knobs(latency_ms=300)  # two spaces of 30 pages, each page's views two calls: a few seconds a space
    admin_client.post(reverse("admin:directory_syncrun_run"), {"instance": instance.pk})
    run = SyncRun.objects.get()
    doomed = start_worker("doomed-sync", DIRECTORY_SYNC_STALE_AFTER_SECONDS="3")

    wait_for(lambda: SyncRun.objects.get().pages_seen >= 30, seconds=120, what="the first space synced", workers=[doomed])
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    # As if the worker had died in the middle of a sweep round: no sweep is left waiting; the next worker's start
    # brings it back.
    waiting_sweeps().update(status=TaskResultStatus.RUNNING)
    run.refresh_from_db()
    assert run.status == "running" and 30 <= run.pages_seen < 60
    page = reverse("admin:directory_syncrun_change", args=[run.pk])
    before = admin_client.get(page).content.decode()
    assert run.progress and escape(run.progress) in before  # the progress the dead worker last reported
    assert re.search(r"\d+ s ago \(a run silent for 3 s is taken to have died\)", before), before
    assert '<meta http-equiv="refresh"' in before

    standin.set_knobs(latency_ms=0)
    rescuer = start_worker("rescuer-sync", DIRECTORY_SYNC_STALE_AFTER_SECONDS="3")
    wait_for(lambda: SyncRun.objects.get().status != "running", seconds=60, what="the sweep", workers=[rescuer])

    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at is not None
    text = admin_client.get(page).content.decode()
    assert "Sync of acme failed" in text
    assert re.search(
        rf"The worker running this sync stopped \(nothing heard from it for \d+ s\): {run.pages_seen} pages and "
        rf"{run.users_seen} users were synced before it stopped and are kept\. Run the sync again\.", text
    ), text
    assert '<meta http-equiv="refresh"' not in text  # the page stops following a run that has ended
    listing = admin_client.get(reverse("admin:directory_syncrun_changelist")).content.decode()
    assert "failed" in listing


@pytest.mark.django_db
def test_only_a_silent_run_is_failed_and_only_once(instance, settings):
    settings.DIRECTORY_SYNC_STALE_AFTER_SECONDS = 60
    now = timezone.now()
    silent = SyncRun.objects.create(
        instance=instance, status="running", started_at=now - dt.timedelta(minutes=5),
        heartbeat_at=now - dt.timedelta(seconds=61), pages_seen=250, users_seen=1, errors=["Space HR was skipped."],
    )
    alive = SyncRun.objects.create(instance=instance, status="running", heartbeat_at=now - dt.timedelta(seconds=5))
    # A run from before heartbeats existed, or whose worker died before its first one: its start is what counts.
    legacy = SyncRun.objects.create(instance=instance, status="running", started_at=now - dt.timedelta(hours=2))
    queued = SyncRun.objects.create(instance=instance, status="queued", started_at=now - dt.timedelta(hours=2))

    assert sync_runs_fail_stale() == 2
    assert sync_runs_fail_stale() == 0

    silent.refresh_from_db()
    assert silent.status == "failed" and silent.finished_at is not None
    assert silent.errors[0] == "Space HR was skipped."  # problems met before it died are kept, the cause follows
    assert silent.errors[1].startswith("The worker running this sync stopped (nothing heard from it for 61 s)")
    assert "250 pages and 1 user were synced before it stopped" in silent.errors[1]
    assert silent.progress == silent.errors[1]
    assert "Sync of acme failed" in services.summary(silent)
    assert SyncRun.objects.get(pk=legacy.pk).status == "failed"
    assert SyncRun.objects.get(pk=alive.pk).status == "running"
    assert SyncRun.objects.get(pk=queued.pk).status == "queued"


@pytest.mark.django_db
def test_the_sweep_comes_back_while_syncs_are_in_flight_and_stops_after(instance, settings):
    settings.DIRECTORY_SYNC_STALE_AFTER_SECONDS = 60
    run = SyncRun.objects.create(instance=instance, status="running", heartbeat_at=timezone.now())

    sync_runs_sweep()

    (waiting,) = waiting_sweeps()
    assert dt.timedelta(seconds=10) < waiting.run_after - timezone.now() <= dt.timedelta(seconds=15)
    sync_runs_sweep()  # another round (or another worker's) while one waits: still one
    assert waiting_sweeps().count() == 1

    SyncRun.objects.filter(pk=run.pk).update(status="succeeded", finished_at=timezone.now())
    waiting_sweeps().delete()  # the waiting one is now this round
    sync_runs_sweep()
    assert not waiting_sweeps().exists()  # nothing to watch: the chain ends


@pytest.mark.django_db(transaction=True)  # the worker runs in autocommit, as in production
def test_queueing_a_sync_queues_its_sweep_once_and_a_starting_worker_restores_lost_sweeps(instance):
    sync_enqueue(instance=instance)
    sync_enqueue(instance=instance)
    assert waiting_sweeps().count() == 1
    assert DBTaskResult.objects.filter(task_path="directory.tasks.directory_sync_task").count() == 2

    DBTaskResult.objects.all().delete()
    SyncRun.objects.all().delete()
    run_queued_tasks()  # `run_worker --batch`: nothing due to run, but the worker's start ensured the sweeps

    assert waiting_sweeps().count() == 1
    assert waiting_sweeps("publications.tasks.publications_sweep_task").count() == 1


@pytest.mark.django_db
def test_a_sync_declared_dead_while_it_still_runs_stops_and_leaves_the_verdict(instance, monkeypatch):
    """A frozen process that wakes up after the sweep has failed its run must not turn it back into a success."""
    monkeypatch.setattr(services, "BEAT_SECONDS", 0.0)

    def sweep_meanwhile(line: str) -> None:
        if line.startswith("pages of DOCS"):
            SyncRun.objects.filter(status="running").update(status="failed", errors=["declared dead"])

    run = sync_run(instance=instance, progress=sweep_meanwhile)

    assert run.status == "failed" and run.errors == ["declared dead"]
    assert run.users_seen == 0  # it stopped at its next heartbeat instead of going on to the users
    assert SyncRun.objects.get(pk=run.pk).status == "failed"


@pytest.mark.django_db
def test_a_running_sync_saves_its_counts_and_progress_with_its_heartbeat(instance, monkeypatch):
    monkeypatch.setattr(services, "BEAT_SECONDS", 0.0)
    seen: list[tuple[int, str]] = []

    def watch(line: str) -> None:
        row = SyncRun.objects.get()
        seen.append((row.pages_seen, row.progress))

    run = sync_run(instance=instance, spaces=["DEMO", "DOCS"], progress=watch)

    assert run.status == "succeeded" and run.heartbeat_at is not None
    # What the admin read while it ran: the DEMO pages' count and line were saved before DOCS was done.
    assert (30, "spaces: 2 to read (DEMO, DOCS)") in seen, seen
    assert any(progress.startswith("pages of DEMO (Demo): 30 so far") for _, progress in seen), seen
    assert SyncRun.objects.get().progress.startswith("Sync of acme succeeded")


@pytest.mark.django_db
def test_a_sync_interrupted_by_ctrl_c_ends_failed_at_once(instance):
    def interrupt(line: str) -> None:
        if line.startswith("pages of DOCS"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync_run(instance=instance, progress=interrupt)

    run = SyncRun.objects.get()
    assert run.status == "failed" and run.finished_at is not None and run.pages_seen == 60
    assert run.errors == ["The sync was interrupted (KeyboardInterrupt) and stopped where it was. Run the sync again."]
    assert services.summary(run).startswith("Sync of acme failed")

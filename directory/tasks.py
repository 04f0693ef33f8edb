"""The directory's background tasks, run by `manage.py run_worker`: the sync (queued from the admin) and the sweep
that marks failed a sync whose worker died."""

from django_tasks import task

from portal.sweeps import SWEEP_PRIORITY


@task()
def directory_sync_task(run_id: int) -> None:
    from directory.services import sync_run_queued

    sync_run_queued(run_id=run_id)


@task(priority=SWEEP_PRIORITY)
def directory_sync_sweep_task() -> None:
    from directory.services import sync_runs_sweep

    sync_runs_sweep()

"""The directory sync as a background task (queued from the admin), run by `manage.py run_worker`."""

from django_tasks import task


@task()
def directory_sync_task(run_id: int) -> None:
    from directory.services import sync_run_queued

    sync_run_queued(run_id=run_id)

"""The background tasks of publications, run by `manage.py run_worker` (the task framework's db_worker)."""

from django_tasks import task

from portal.sweeps import SWEEP_PRIORITY


@task()
def publication_run_task(publication_id: str) -> None:
    from publications.publishing import publication_run

    publication_run(publication_id=publication_id)


@task(priority=SWEEP_PRIORITY)
def publications_sweep_task() -> None:
    from publications.services import publications_sweep

    publications_sweep()

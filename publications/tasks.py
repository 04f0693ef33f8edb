"""The background tasks of publications, run by `manage.py run_worker` (the task framework's db_worker)."""

from django_tasks import task


@task()
def publication_run_task(publication_id: str) -> None:
    from publications.publishing import publication_run

    publication_run(publication_id=publication_id)

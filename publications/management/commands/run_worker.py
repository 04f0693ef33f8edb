"""`manage.py run_worker`: the task framework's database worker (django-tasks-db's `db_worker`, same options).

Noticing work whose worker died is itself work on the queue: each app's sweep is a task (see `portal/sweeps.py`).
A worker makes sure they are waiting when it starts, so a sweep lost with a killed worker comes back with the next.
"""

from __future__ import annotations

from django.conf import settings
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from portal.sweeps import sweeps_ensure


class Command(DbWorkerCommand):
    help = "Run a background worker (publications, directory syncs and their sweeps); any number may run, on any host."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(interval=settings.TASK_WORKER_INTERVAL, queue_name="*")

    def handle(self, *args, **options) -> None:
        sweeps_ensure()
        super().handle(*args, **options)

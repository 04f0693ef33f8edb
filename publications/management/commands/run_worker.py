"""`manage.py run_worker`: the task framework's database worker (django-tasks-db's `db_worker`, same options), plus
the sweep that notices publications whose worker died and queues them again.

The task framework leaves a task whose worker was killed marked as running for ever; a publication cannot wait for
an operator, so every worker also sweeps (every quarter of PUBLICATION_STALE_AFTER_SECONDS). Sweeps from several
workers at once are safe: each stale publication is taken by one conditional UPDATE.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from publications.services import publications_resume_stale

logger = logging.getLogger("publications.worker")


def _sweep_forever(stop: threading.Event) -> None:
    period = max(1.0, settings.PUBLICATION_STALE_AFTER_SECONDS / 4)
    while not stop.wait(period):
        try:
            close_old_connections()
            requeued, failed = publications_resume_stale()
            if requeued or failed:
                logger.warning("stale publications: %d queued again, %d failed", requeued, failed)
        except Exception:
            logger.exception("the sweep of stale publications failed; trying again in %.0f s", period)
        finally:
            connection.close()


class Command(DbWorkerCommand):
    help = "Run a background worker (publications, directory syncs); any number may run, on any host."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(interval=settings.TASK_WORKER_INTERVAL, queue_name="*")

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        sweeper = threading.Thread(target=_sweep_forever, args=(stop,), name="publication-sweep", daemon=True)
        sweeper.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()

"""``manage.py sync_confluence NAME [--space KEY ...]``: the directory sync from the command line (cron, a shell)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.models import SyncRun
from directory.services import sync_run
from tokens.models import Instance


class Command(BaseCommand):
    help = (
        "Fetch an instance's users, spaces, pages and page views from Confluence into the portal. Progress goes to "
        "stdout, problems to stderr; the exit status is 1 when the run failed (a run that finished with problems "
        "exits 0 and lists them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the instance's name, as in the admin")
        parser.add_argument(
            "--space", action="append", default=[], dest="spaces", metavar="KEY",
            help="sync only this space key; repeat for several (default: every space the account can see)",
        )

    def handle(self, *args: Any, name: str, spaces: list[str], **options: Any) -> None:
        instance = Instance.objects.filter(name=name).first()
        if instance is None:
            known = ", ".join(Instance.objects.order_by("name").values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No instance named {name!r} (instances: {known}).")
        quiet = options["verbosity"] == 0

        def progress(line: str) -> None:
            # Problems are also listed at the end, on stderr; here they keep their place in the story.
            if not quiet:
                self.stdout.write(line)
                self.stdout.flush()

        run = sync_run(instance=instance, spaces=spaces or None, progress=progress)
        for message in run.errors:
            self.stderr.write(f"error: {message}")
        if run.status == SyncRun.Status.FAILED:
            raise CommandError(f"The directory sync of {instance.name} failed: {run.errors[0] if run.errors else 'see the sync run in the admin'}")

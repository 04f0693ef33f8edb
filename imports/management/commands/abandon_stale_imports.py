"""Mark imports left as `received` past the timeout as abandoned, and forget expired idempotency keys.

Run it from cron (every few minutes is plenty): a record stays `received` only when the process serving
it died mid-import, and its idempotency key would otherwise answer `import_in_progress` for ever.
"""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from imports.services import idempotency_keys_expire, imports_abandon_stale


class Command(BaseCommand):
    help = "Mark imports stuck as received for longer than IMPORT_ABANDON_AFTER_SECONDS as abandoned."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=int, default=settings.IMPORT_ABANDON_AFTER_SECONDS, metavar="SECONDS",
            help="age after which a received import is abandoned (default: %(default)s)",
        )

    def handle(self, *args, older_than: int, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 second")
        abandoned = imports_abandon_stale(older_than=dt.timedelta(seconds=older_than))
        expired = idempotency_keys_expire()
        self.stdout.write(f"{abandoned} import(s) marked abandoned; {expired} expired idempotency key(s) removed.")

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from tokens.management.commands._common import command_actor_name, refusals_as_command_errors
from tokens.selectors import instance_by_name
from tokens.services import token_issue


class Command(BaseCommand):
    help = (
        "Issue a token for an instance and print its secret, alone on one line of stdout. "
        "The secret is not stored and cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--instance", required=True, help="the instance's name")
        parser.add_argument("--label", required=True, help="3 to 50 letters, digits, '-' or '_'; unique per instance")
        # A string, so that a bad value is refused by the service in its own words (exit 1), not by argparse.
        parser.add_argument("--days", required=True, help="whole days until the token expires, 1 to 30")
        parser.add_argument(
            "--space", action="append", default=[], dest="spaces", metavar="KEY",
            help="limit the token to this space key; repeat for several (default: every space)",
        )

    def handle(self, *args, instance: str, label: str, days: str, spaces: list[str], **options) -> None:
        with refusals_as_command_errors():
            target = instance_by_name(instance)
            issued = token_issue(
                instance=target,
                label=label,
                days=int(days) if days.strip().isdigit() else days,
                actor=None,
                spaces=spaces,
                actor_name=command_actor_name(),
            )
        self.stdout.write(issued.secret)
        if options["verbosity"] >= 1:
            # On stderr, so that `TOKEN=$(manage.py issue_token ...)` captures the secret alone.
            token = issued.token
            self.stderr.write(
                f"Issued token {token.pk} {token.label!r} ({token.hint}) for {target.name}, expires "
                f"{timezone.localtime(token.expires_at):%Y-%m-%d %H:%M %Z}. The secret above is not shown again."
            )

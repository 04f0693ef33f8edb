from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from tokens.management.commands._common import refusals_as_command_errors
from tokens.models import Token
from tokens.selectors import instance_by_name

COLUMNS = ("ID", "INSTANCE", "LABEL", "HINT", "STATE", "EXPIRES", "LAST USED", "CREATED BY", "SPACES")


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "List tokens with their state (live, expired, revoked). Secrets are never stored, so never shown."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--instance", help="only this instance's tokens")

    def handle(self, *args, instance: str | None, **options) -> None:
        tokens = Token.objects.select_related("instance", "created_by").order_by("instance__name", "-created_at")
        if instance:
            with refusals_as_command_errors():
                tokens = tokens.filter(instance=instance_by_name(instance))
        now = timezone.now()
        rows = [
            (
                str(token.pk),
                token.instance.name,
                token.label,
                token.hint,
                token.state(now),
                _when(token.expires_at),
                _when(token.last_used_at),
                token.created_by.get_username() if token.created_by else "-",
                ",".join(token.allowed_spaces) or "all",
            )
            for token in tokens
        ]
        if not rows:
            self.stdout.write("No tokens." if not instance else f"No tokens for {instance}.")
            return
        widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
        for row in [COLUMNS, *rows]:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

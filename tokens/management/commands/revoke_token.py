from django.core.management.base import BaseCommand, CommandParser

from tokens.management.commands._common import command_actor_name, refusals_as_command_errors
from tokens.selectors import token_by_reference
from tokens.services import token_revoke


class Command(BaseCommand):
    help = "Revoke a token, at once and for good. Give its id or its hint as list_tokens shows them ('...' for '…')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", metavar="ID_OR_HINT")

    def handle(self, *args, reference: str, **options) -> None:
        with refusals_as_command_errors():
            token = token_revoke(token=token_by_reference(reference), actor=None, actor_name=command_actor_name())
        self.stdout.write(f"Revoked token {token.pk} {token.label!r} ({token.hint}) of {token.instance.name}.")

import datetime as dt
import getpass
import os
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from tokens.management.commands._common import refusals_as_command_errors
from tokens.models import Instance, License
from tokens.services import instance_create, instance_update, license_set

TOKEN_VARIABLE = "CONFLUENCE_API_TOKEN"  # noqa: S105 - the variable's name, not a secret


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date: use YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Add or update a Confluence instance and its license. The Atlassian API token comes from the "
        f"{TOKEN_VARIABLE} environment variable or a prompt, never from an argument (arguments end up in "
        "shell history and process lists)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("--url", required=True, help="the site, e.g. https://acme.atlassian.net")
        parser.add_argument("--email", default="", help="the service account's email (needed for basic auth)")
        parser.add_argument("--license-until", required=True, metavar="YYYY-MM-DD", help="last valid day")
        parser.add_argument("--license-from", metavar="YYYY-MM-DD", help="first valid day (default: today)")
        parser.add_argument("--license-ref", help="the license key or contract reference (default: NAME)")
        parser.add_argument("--auth-type", choices=[c.value for c in Instance.AuthType], default=None)
        parser.add_argument("--cloud-id", default=None, help="for scoped API tokens (api.atlassian.com gateway)")

    def _api_token(self, existing: Instance | None) -> str:
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if token:
            return token
        if sys.stdin.isatty():
            keep = " (leave blank to keep the stored one)" if existing and existing.has_api_token else ""
            return getpass.getpass(f"Atlassian API token{keep}: ").strip()
        return ""

    def handle(self, *args, **options) -> None:
        name: str = options["name"]
        until = _date(options["license_until"])
        since = _date(options["license_from"]) if options["license_from"] else None
        existing = Instance.objects.filter(name=name).first()
        api_token = self._api_token(existing)
        with refusals_as_command_errors(), transaction.atomic():
            if existing is None:
                if not api_token:
                    raise CommandError(f"Set {TOKEN_VARIABLE} (or run interactively to be prompted) for a new instance.")
                instance = instance_create(
                    name=name,
                    base_url=options["url"],
                    email=options["email"],
                    api_token=api_token,
                    auth_type=options["auth_type"] or Instance.AuthType.BASIC,
                    cloud_id=options["cloud_id"] or "",
                )
            else:
                changes = {"base_url": options["url"]}
                if options["email"]:
                    changes["email"] = options["email"]
                if options["auth_type"]:
                    changes["auth_type"] = options["auth_type"]
                if options["cloud_id"] is not None:
                    changes["cloud_id"] = options["cloud_id"]
                instance = instance_update(instance=existing, api_token=api_token or None, **changes)
            current = License.objects.filter(instance=instance).first()
            license = license_set(
                instance=instance,
                reference=options["license_ref"] or (current.reference if current else name),
                valid_from=since or (current.valid_from if current else timezone.localdate()),
                valid_until=until,
                # An admin's switch-off is deliberate: updating the dates from the command line keeps it.
                active=current.active if current else True,
                actor=None,
            )
        verb = "Created" if existing is None else "Updated"
        state = license.state().label
        self.stdout.write(
            f"{verb} instance {instance.name} ({instance.base_url}); license {license.reference} valid "
            f"{license.valid_from:%Y-%m-%d} to {license.valid_until:%Y-%m-%d} ({state})."
        )

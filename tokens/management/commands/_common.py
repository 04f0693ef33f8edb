"""What the token commands share: who is acting, and turning service refusals into one-line errors."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator

from django.core.management.base import CommandError

from portal.errors import PortalError


def command_actor_name() -> str:
    """Commands run without a portal user; the event records the operating-system account instead."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user} (manage.py)"


@contextlib.contextmanager
def refusals_as_command_errors() -> Iterator[None]:
    try:
        yield
    except PortalError as refusal:
        raise CommandError(refusal.message) from None

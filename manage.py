#!/usr/bin/env python
"""Django's command-line utility for the portal."""

import os
import sys

# Commands that serve rather than answer: their logs go where LOG_STREAM says.
SERVERS = (["runserver"], ["db_worker"], ["run_worker"])


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if sys.argv[1:2] not in SERVERS:
        # A command's stdout is its output (issue_token prints the secret alone there), so its logs go to
        # stderr whatever LOG_STREAM says: that setting is for servers (LOG_STREAM=stdout in .env or the
        # environment must not put a log line into `TOKEN=$(manage.py issue_token ...)`).
        os.environ["LOG_STREAM"] = "stderr"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

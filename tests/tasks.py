"""Running what the task queue holds, in the test's process, through the real worker command (not eager mode)."""

from __future__ import annotations

import signal

from django.core.management import call_command


def run_queued_tasks() -> None:
    """`manage.py run_worker --batch`: every queued task runs, then the worker exits."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command("run_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    finally:
        # The worker installs its own graceful-shutdown handlers; pytest's Ctrl-C must work again afterwards.
        for sig, handler in saved.items():
            signal.signal(sig, handler)

"""gunicorn settings for `python -m bench.import_cpu`: the portal's own settings, plus timers around the parts of
an import inside the worker. Not for serving: the timers patch the import service's module.

Each part's thread CPU (`time.thread_time`) is summed per worker and written, as JSON, to the file named by
PROBE_OUTPUT when the worker exits.
"""

import json
import os
import threading
import time
from pathlib import Path

exec(Path(__file__).resolve().parent.parent.joinpath("portal/gunicorn.conf.py").read_text())  # noqa: S102

_totals: dict[str, list[float]] = {}
_lock = threading.Lock()


def _timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent = time.thread_time() - started
            with _lock:
                entry = _totals.setdefault(name, [0.0, 0])
                entry[0] += spent
                entry[1] += 1

    return wrapper


def post_worker_init(worker):
    from imports import services, views

    services.convert = _timed("conversion", services.convert)
    services._record_received = _timed("received record", services._record_received)
    services._write_page = _timed("Confluence calls", services._write_page)
    views.ImportListCreate.post = _timed("import view", views.ImportListCreate.post)


def worker_exit(server, worker):
    output = os.environ.get("PROBE_OUTPUT")
    if output:
        with _lock:
            Path(output).write_text(json.dumps({name: {"seconds": s, "calls": n} for name, (s, n) in _totals.items()}))

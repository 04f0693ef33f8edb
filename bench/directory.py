"""Benchmark of the directory sync (issue 9's "directory sync of 10,000 pages and 2,000 users").

The stand-in runs as its own process (``python -m confluence.standin``); the sync runs in a second process with a
throw-away SQLite database, so its peak memory is the sync's and not the benchmark runner's, and Django is set up
there with the benchmark's own settings whatever the caller has configured. The sync runs twice: the second run,
with nothing changed in Confluence, must write nothing.

    python -m bench.directory [--smoke]        # prints the figures as JSON
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FULL = {"pages": 10_000, "spaces": 5, "users": 2_000}
SMOKE = {"pages": 300, "spaces": 2, "users": 300}
V2_PAGE_LIMIT = 250
USER_SEARCH_LIMIT = 1000  # directory.services.USER_SEARCH_LIMIT: the most one v1 search/user call returns
USERS_BULK_BATCH = 250
TARGET_RATIO = 1.05


def run(*, smoke: bool = False) -> list[dict[str, Any]]:
    size = SMOKE if smoke else FULL
    port = _free_port()
    standin = subprocess.Popen(
        [sys.executable, "-m", "confluence.standin", "--port", str(port), "--pages", str(size["pages"]),
         "--spaces", str(size["spaces"]), "--users", str(size["users"])],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, standin)
        with tempfile.TemporaryDirectory(prefix="bench-directory-") as tmp:
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "portal.settings",
                "DATABASE_URL": f"sqlite:///{tmp}/portal.sqlite3",
                "DEBUG": "true",
                "DATA_DIR": tmp,
            }
            worker = subprocess.run(
                [sys.executable, "-m", "bench.directory", "--worker", url],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False,
            )
        if worker.returncode != 0:
            raise RuntimeError(f"the directory sync worker failed:\n{worker.stderr[-4000:]}")
        measured = json.loads(worker.stdout.strip().splitlines()[-1])
    finally:
        standin.terminate()
        standin.wait(timeout=10)
    return _figures(measured, size, smoke=smoke)


def _figures(m: dict[str, Any], size: dict[str, int], *, smoke: bool) -> list[dict[str, Any]]:
    fewest = m["fewest_requests"]
    first, second = m["runs"]
    ratio = first["requests_made"] / fewest
    details = {"size": size, "smoke": smoke, "fewest_breakdown": m["fewest_breakdown"], "first_run": first,
               "second_run": second, "standin_operations": m["standin_operations"]}
    peak_mib, idle_mib = m["peak_rss_kib"] / 1024, m["idle_rss_kib"] / 1024
    return [
        {
            "figure": "directory sync: requests made ÷ the fewest the API allows",
            "value": round(ratio, 5), "unit": "×", "baseline": float(fewest), "ratio": round(ratio, 5),
            "target": f"≤ {TARGET_RATIO}", "met": ratio <= TARGET_RATIO and second["requests_made"] / fewest <= TARGET_RATIO,
            "details": details,
        },
        {
            "figure": "directory sync: wall time, first run",
            "value": round(first["seconds"], 2), "unit": "s", "baseline": None, "ratio": None,
            "target": "reported", "met": None,
            "details": {"pages_per_second": round(first["pages_seen"] / first["seconds"], 1), "size": size},
        },
        {
            "figure": "directory sync: wall time, second run (nothing changed)",
            "value": round(second["seconds"], 2), "unit": "s", "baseline": round(first["seconds"], 2),
            "ratio": round(second["seconds"] / first["seconds"], 3), "target": "reported", "met": None,
            "details": {"size": size},
        },
        {
            "figure": "directory sync: peak memory of the sync process",
            "value": round(peak_mib, 1), "unit": "MiB", "baseline": round(idle_mib, 1),
            "ratio": round(peak_mib / idle_mib, 3), "target": "reported (baseline: the same process before syncing)",
            "met": None,
            "details": {"peak_rss_kib": m["peak_rss_kib"], "idle_rss_kib": m["idle_rss_kib"], "size": size},
        },
        {
            "figure": "directory sync: rows written by a second run with nothing changed",
            "value": float(second["rows_written"]), "unit": "rows", "baseline": None, "ratio": None,
            "target": "= 0", "met": second["rows_written"] == 0,
            "details": {"second_run": second},
        },
    ]


# ---------------------------------------------------------------------- the worker process


def _worker(url: str) -> dict[str, Any]:
    import resource

    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count

    from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN
    from directory.models import Page
    from directory.services import sync_run
    from tokens.services import instance_create

    call_command("migrate", verbosity=0)
    instance = instance_create(name="bench", base_url=url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN)
    idle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runs = []
    # Peak RSS and not tracemalloc: tracing every allocation would slow the sync it measures several times over.
    for number in (1, 2):
        started = time.perf_counter()
        result = sync_run(instance=instance)
        seconds = time.perf_counter() - started
        if result.status != "succeeded":
            raise SystemExit(f"sync run {number} {result.status}: {result.errors}")
        runs.append({
            "seconds": seconds, "requests_made": result.requests_made, "rows_written": result.rows_written,
            "pages_seen": result.pages_seen, "users_seen": result.users_seen, "activity_fetched": result.activity_fetched,
        })
    per_space = list(Page.objects.filter(instance=instance).values("space__key").annotate(n=Count("pk")).values_list("space__key", "n"))
    users = runs[0]["users_seen"]
    breakdown = {
        "page_listing": sum(math.ceil(n / V2_PAGE_LIMIT) for _, n in per_space),
        "user_search": math.ceil(users / USER_SEARCH_LIMIT),
        "users_bulk": math.ceil(users / USERS_BULK_BATCH),
        "analytics": 2 * runs[0]["pages_seen"],
    }
    with urllib.request.urlopen(f"{url}/__standin__/stats", timeout=10) as response:  # noqa: S310 - loopback
        operations = json.load(response)["operations"]
    return {
        "runs": runs,
        "fewest_requests": sum(breakdown.values()),
        "fewest_breakdown": {**breakdown, "pages_per_space": dict(per_space)},
        "standin_operations": operations,
        "idle_rss_kib": idle,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


# ---------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the stand-in exited with status {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/__standin__/stats", timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the stand-in did not answer at {url} within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.directory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker)))
        return
    print(json.dumps(run(smoke=args.smoke), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

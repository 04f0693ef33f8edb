"""Publishing a tree: a 200-page bundle with 100 images, run by a real background worker against the stand-in.

Two figures for the first publication, and the same two for a second run of the same bundle:

- wall time (the worker's own start to finish) against the stand-in-bound minimum: the requests it made ÷ the pages
  allowed in flight per instance × the stand-in's latency. Reported as efficiency = minimum ÷ wall (goal ≥ 0.8):
  how much of the time Confluence's latency allows the worker actually needed.
- requests made against the fewest the API allows for that work (goal ≤ 1.05×): one space look-up, one create per
  page and one upload per image on the first run; the space look-up and one version read per 250 known pages on a
  run that changes nothing.

The worker's CPU seconds for each publication (``worker_cpu_seconds`` in the details) are steadier than its wall
time on a shared machine.

Processes: the stand-in, the portal under gunicorn and one `manage.py run_worker`, each on loopback, with a
throw-away SQLite database (or ``--database-url``).
"""

from __future__ import annotations

import hashlib
import io
import math
import subprocess
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from bench.common import (
    PYTHON,
    REPO,
    STARTED_PIDS,
    Database,
    Portal,
    Standin,
    _stop_group,
    gunicorn,
    markdown_document,
    prepare_database,
    row,
    standin,
    workdir,
    workers_cpu_seconds,
)

SPACE = "DOCS"
CONCURRENCY = 3  # PUBLICATION_CONCURRENCY_PER_INSTANCE's default
V2_PAGE_LIMIT = 250
TIMEOUT = 900.0


@dataclass(frozen=True)
class Sizes:
    pages: int
    images: int
    page_bytes: int
    latency_ms: float

    @classmethod
    def for_mode(cls, smoke: bool) -> Sizes:
        if smoke:
            return cls(pages=12, images=6, page_bytes=1024, latency_ms=5)
        return cls(pages=200, images=100, page_bytes=3 * 1024, latency_ms=50)


def bundle(sizes: Sizes) -> bytes:
    """Folders of 20 pages (an index and 19 more), every other page with an image of its own, links between pages."""
    files: dict[str, bytes] = {}
    folders = max(1, math.ceil(sizes.pages / 20))
    made = 0
    for folder in range(folders):
        for n in range(20):
            if made == sizes.pages:
                break
            name = "index.md" if n == 0 else f"page-{n:02d}.md"
            text = f"# Part {folder} page {n}\n\n" + markdown_document(sizes.page_bytes, seed=f"{folder}-{n}")
            if n:
                text += "\nBack to [the part](index.md).\n"
            if made < sizes.images * 2 and made % 2 == 1:
                text += f"\n![diagram](img/diagram-{n:02d}.png)\n"
                files[f"docs/part-{folder:02d}/img/diagram-{n:02d}.png"] = b"\x89PNG\r\n\x1a\n" + hashlib.sha256(
                    f"{folder}/{n}".encode()).digest() * 64
            files[f"docs/part-{folder:02d}/{name}"] = text.encode()
            made += 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()


@contextmanager
def worker(database: Database) -> Iterator[subprocess.Popen[bytes]]:
    log = database.workdir / "worker.log"
    env = {**database.env, "TASK_WORKER_INTERVAL": "0.1", "LOG_LEVEL": "WARNING"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PYTHON, "manage.py", "run_worker", "--no-reload", "--no-startup-delay", "--worker-id", "bench"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    STARTED_PIDS.append(process.pid)
    try:
        yield process
    finally:
        _stop_group(process, timeout=30)


def run(*, smoke: bool = False, database_url: str | None = None) -> list[dict[str, Any]]:
    sizes = Sizes.for_mode(smoke)
    data = bundle(sizes)
    with workdir() as path, standin(path, latency_ms=sizes.latency_ms) as confluence:
        database = prepare_database(path, confluence.url, database_url=database_url)
        with gunicorn(database, workers=1, threads=4) as portal, worker(database) as process:
            session = portal.session()
            # A tiny dry run first: the portal's process has looked the space up, so the requests counted below are
            # the worker's alone.
            _publish(session, portal, confluence, _tiny(), process, dry_run=True)
            first = _publish(session, portal, confluence, data, process)
            second = _publish(session, portal, confluence, data, process)
    # Pages as planned: the Markdown files and a plain page for the top folder, which has no index of its own.
    planned = first["pages_planned"]
    fewest_first = 1 + planned + sizes.images
    fewest_second = 1 + math.ceil(planned / V2_PAGE_LIMIT)
    latency = sizes.latency_ms / 1000
    rows: list[dict[str, Any]] = []
    for label, result, fewest in (("first run", first, fewest_first), ("second run, nothing changed", second, fewest_second)):
        minimum = result["requests"] / CONCURRENCY * latency
        details = {**result, "pages": sizes.pages, "images": sizes.images, "latency_ms": sizes.latency_ms,
                   "concurrency": CONCURRENCY, "minimum_seconds": round(minimum, 3), "fewest_requests": fewest}
        efficiency = round(minimum / result["wall_seconds"], 3) if result["wall_seconds"] else None
        # The efficiency goal is the first run's; an unchanged rerun makes 2 requests, so its "minimum" is a few
        # hundredths of a second and its wall time (reading the bundle, comparing) is reported, not judged.
        judged = result is first
        rows.append(row(
            f"publication of {sizes.pages} pages with {sizes.images} images, {label}: wall time",
            round(result["wall_seconds"], 2), "s", round(minimum, 2),
            "efficiency (minimum ÷ wall) ≥ 0.8" if judged else "reported",
            (efficiency is not None and efficiency >= 0.8) if judged else None, details, ratio_value=efficiency,
        ))
        rows.append(row(
            f"publication of {sizes.pages} pages with {sizes.images} images, {label}: Confluence requests",
            result["requests"], "requests", fewest, "≤ 1.05×", result["requests"] <= fewest * 1.05, details,
        ))
    return rows


def _tiny() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("warm-up/README.md", "# Warm-up\n")
    return buffer.getvalue()


def _publish(
    session: requests.Session, portal: Portal, confluence: Standin, data: bytes, process: subprocess.Popen[bytes],
    *, dry_run: bool = False,
) -> dict[str, Any]:
    before = confluence.stats()
    cpu_before = workers_cpu_seconds([process.pid])
    response = session.post(
        f"{portal.url}/api/v1/publications",
        files={"bundle": ("docs.zip", data, "application/zip")},
        data={"spaceId": SPACE, "sourceRef": "bench@1", "dryRun": "true" if dry_run else "false"},
        timeout=120,
    )
    response.raise_for_status()
    location = f"{portal.url}{response.headers['Location']}"
    deadline = time.monotonic() + TIMEOUT
    while True:
        shown = session.get(location, timeout=30).json()
        if shown["state"] in ("succeeded", "partial", "failed"):
            break
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited ({process.returncode}); see worker.log")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the publication did not finish in {TIMEOUT:.0f} s")
        time.sleep(0.2)
    if shown["state"] != "succeeded":
        failed = [p for p in shown["pages"] if p["status"] == "failed"][:3]
        raise RuntimeError(f"the publication ended {shown['state']}: {shown.get('error') or failed}")
    from datetime import datetime

    wall = (datetime.fromisoformat(shown["finishedAt"]) - datetime.fromisoformat(shown["startedAt"])).total_seconds()
    statuses: dict[str, int] = {}
    for page in shown["pages"]:
        statuses[page["status"]] = statuses.get(page["status"], 0) + 1
    after = confluence.stats()
    # Steadier than the wall time on a shared machine; the worker's polling of the queue meanwhile is in it too.
    cpu = workers_cpu_seconds([process.pid]) - cpu_before
    operations = {op: n - before["operations"].get(op, 0) for op, n in after["operations"].items()}
    return {"wall_seconds": wall, "worker_cpu_seconds": round(cpu, 2), "pages_planned": shown["progress"]["total"], "requests": after["requests"] - before["requests"], "statuses": statuses,
            "operations": {op: n for op, n in operations.items() if n}}

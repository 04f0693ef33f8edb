"""Where an import's CPU goes inside a gunicorn worker: `python -m bench.import_cpu [--imports N]`.

A diagnostic beside `make bench`, not one of its figures: the portal runs under gunicorn (one worker, the bench's
threads) with `bench/gunicorn_probe.py`, which times the parts of the import service in the worker's own threads
(`time.thread_time`). The worker's CPU is also read per thread from /proc around the same imports, and around as
many `/healthz` requests (what gunicorn, the middleware and one query cost any request). The converter's CPU in
this process, for the same document, is the bench's baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from pathlib import Path

from bench.common import gunicorn, markdown_document, prepare_database, standin, workdir
from bench.imports import SPACE, THREADS
from confluence.converter import convert

TICKS = os.sysconf("SC_CLK_TCK")


def _threads_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of each thread of the process, by thread id."""
    spent: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        spent[task.name] = (int(fields[11]) + int(fields[12])) / TICKS
    return spent


def _spent(before: dict[str, float], after: dict[str, float]) -> float:
    return sum(after[tid] - before.get(tid, 0.0) for tid in after)


def measure(imports: int, latency_ms: float) -> dict[str, float]:
    document = markdown_document(10 * 1024)
    with workdir() as path, standin(path, latency_ms=latency_ms) as confluence:
        database = prepare_database(path, confluence.url)
        output = path / "probe.json"
        database.env["PROBE_OUTPUT"] = str(output)
        with gunicorn(database, workers=1, threads=THREADS, config="bench/gunicorn_probe.py") as portal:
            session = portal.session()

            def one_import() -> None:
                response = session.post(
                    f"{portal.url}/api/v1/imports",
                    json={"spaceId": SPACE, "pageTitle": f"cpu {uuid.uuid4().hex}", "content": document},
                    timeout=60,
                )
                if response.status_code != 201:
                    raise RuntimeError(f"import answered {response.status_code}: {response.text[:300]}")

            for _ in range(20):  # warm: code loaded, connections open, the space id cached
                one_import()
                session.get(f"{portal.url}/healthz", timeout=10)
            (pid,) = portal.worker_pids()
            before = _threads_cpu(pid)
            for _ in range(imports):
                session.get(f"{portal.url}/healthz", timeout=10)
            healthz = _spent(before, _threads_cpu(pid)) / imports
            before = _threads_cpu(pid)
            for _ in range(imports):
                one_import()
            worker = _spent(before, _threads_cpu(pid)) / imports
        # The worker wrote its timers on the way out (warm-up imports included: per call, it makes no odds).
        parts = json.loads(output.read_text())
    per_call = {name: part["seconds"] / part["calls"] for name, part in parts.items()}
    started = time.process_time()
    for _ in range(imports):
        convert(document, title="bench")
    baseline = (time.process_time() - started) / imports
    view = per_call["import view"]
    known = per_call["conversion"] + per_call["Confluence calls"] + per_call["received record"]
    return {
        "worker CPU per import (all threads, user + system)": worker,
        "  outside the import view: gunicorn, middleware, DRF, authentication": worker - view,
        "    of which any request pays (GET /healthz)": healthz,
        "  the import view": view,
        "    conversion": per_call["conversion"],
        "    the Confluence calls (requests, 2 calls)": per_call["Confluence calls"],
        "    the received record (token lock, rate count, insert)": per_call["received record"],
        "    the rest (body checks, idempotency, final record, answer)": view - known,
        "conversion of the same document in this process (the bench's baseline)": baseline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the stand-in's latency per call")
    options = parser.parse_args()
    figures = measure(options.imports, options.latency_ms)
    width = max(len(name) for name in figures)
    print(f"{'part':<{width}}  ms per import (CPU)")
    for name, seconds in figures.items():
        print(f"{name:<{width}}  {seconds * 1000:7.2f}")


if __name__ == "__main__":
    main()

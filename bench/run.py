"""``make bench`` (``python -m bench.run``): every benchmark module's figures, as JSON in bench-results/latest.json
and as a table.

    python -m bench.run                 # the full run (a few minutes)
    python -m bench.run --smoke         # tiny sizes: checks the harness works, not the figures
    python -m bench.run --only imports  # one module
    python -m bench.run --database-url postgres://portal:portal@127.0.0.1:55432/portal

A module that cannot be imported (not written yet, or a dependency missing) or that fails is a row that says so;
the other modules still run and the exit status is 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import inspect
import json
import logging
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.common import REPO, STARTED_PIDS

# The order of the table: the converter, then the import API, then the directory sync.
MODULES = ("converter", "imports", "directory", "dashboard", "publications")
RESULTS = REPO / "bench-results"
FIELDS = ("figure", "value", "unit", "baseline", "ratio", "target", "met", "details")


def machine() -> dict[str, Any]:
    """What the figures were measured on, for the README next to the table."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _unavailable(module: str, reason: str) -> dict[str, Any]:
    return {"figure": f"{module}: not available", "value": None, "unit": "", "baseline": None, "ratio": None,
            "target": "", "met": None, "details": {"module": module, "reason": reason}}


def _failed(module: str, reason: str) -> dict[str, Any]:
    return {**_unavailable(module, reason), "figure": f"{module}: failed", "met": False}


def run_module(name: str, *, smoke: bool, database_url: str | None) -> tuple[list[dict[str, Any]], bool]:
    """The module's rows, and whether it ran at all (a missing module is reported, not an error)."""
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.{name}":
            return [_unavailable(name, "bench module not present")], True
        return [_failed(name, f"cannot import: {exc}")], False
    except Exception as exc:
        return [_failed(name, f"cannot import: {type(exc).__name__}: {exc}")], False
    run = getattr(module, "run", None)
    if run is None:
        return [_unavailable(name, "bench module has no run()")], True
    kwargs: dict[str, Any] = {"smoke": smoke}
    # Only modules that start the portal take a database; the others keep the shared interface run(*, smoke).
    if "database_url" in inspect.signature(run).parameters:
        kwargs["database_url"] = database_url
    try:
        rows = list(run(**kwargs))
    except Exception as exc:
        traceback.print_exc()
        return [_failed(name, f"{type(exc).__name__}: {exc}")], False
    for item in rows:
        item.setdefault("module", name)
    return rows, True


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _met(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "—"}[value]


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table, so the same text reads in a terminal and pastes into the README."""
    lines = ["| figure | value | baseline | ratio | target | met |", "|---|---|---|---|---|---|"]
    for item in rows:
        unit = f" {item['unit']}" if item.get("unit") and item.get("value") is not None else ""
        baseline_unit = f" {item['unit']}" if item.get("unit") and item.get("baseline") is not None else ""
        ratio = f"{item['ratio']:g}×" if isinstance(item.get("ratio"), (int, float)) else "—"
        lines.append(
            f"| {item['figure']} | {_cell(item.get('value'))}{unit} | {_cell(item.get('baseline'))}{baseline_unit} "
            f"| {ratio} | {item.get('target') or '—'} | {_met(item.get('met'))} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the harness rather than measure")
    parser.add_argument("--only", action="append", choices=MODULES, metavar="NAME",
                        help=f"run only this module (repeatable): {', '.join(MODULES)}")
    parser.add_argument("--database-url", help="the portal's database (default: a throw-away SQLite file)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="where the JSON goes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    ok = True
    for name in args.only or MODULES:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        module_started = time.monotonic()
        module_rows, module_ok = run_module(name, smoke=args.smoke, database_url=args.database_url)
        ok = ok and module_ok
        rows += module_rows
        print(f"bench: {name} took {time.monotonic() - module_started:.0f} s", file=sys.stderr, flush=True)

    result = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "smoke": args.smoke,
        "seconds": round(time.monotonic() - started, 1),
        "machine": machine(),
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "figures": rows,
        # Process groups of the stand-in and gunicorn masters, all stopped by now (the smoke test checks).
        "processes_started": list(STARTED_PIDS),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    info = result["machine"]
    print(table(rows))
    print(f"\n{info['nproc']} × {info['cpu']}, Python {info['python']}; {result['seconds']} s; "
          f"{'smoke sizes; ' if args.smoke else ''}JSON in {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

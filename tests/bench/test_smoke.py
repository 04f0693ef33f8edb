"""The benchmark harness at smoke sizes, so `make bench` cannot rot: every figure is present and has the shape
the README's table is built from. Timings are not asserted; a smoke run on a busy CI machine proves nothing
about speed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import FIELDS

REPO = Path(__file__).resolve().parents[2]

# Every figure the import module must report, by the start of its name.
IMPORT_FIGURES = (
    "import of a new 10 KB page, p50",
    "import of a new 10 KB page, p95",
    "portal CPU per import, server side",
    "Confluence calls per import: new page",
    "Confluence calls per import: overwrite of a changed page",
    "Confluence calls per import: unchanged page",
    "imports per second",
    "authenticated no-op API request",
    "imports under a 30 % 429 storm",
    "peak memory of one worker",
)


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    output = tmp_path_factory.mktemp("bench") / "latest.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--output", str(output)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert output.exists(), f"no JSON written; stderr:\n{result.stderr[-3000:]}"
    return result, json.loads(output.read_text())


@pytest.mark.slow
def test_smoke_run_reports_every_figure_in_the_shape_of_the_table(smoke_results) -> None:
    result, data = smoke_results
    assert result.returncode == 0, result.stderr[-3000:]
    assert data["smoke"] is True
    assert {"nproc", "cpu", "python"} <= set(data["machine"])
    figures = data["figures"]
    for item in figures:
        assert set(FIELDS) <= set(item), item
        assert isinstance(item["details"], dict)
        assert item["met"] in (True, False, None)
    names = [item["figure"] for item in figures]
    for expected in IMPORT_FIGURES:
        assert any(expected in name for name in names), f"{expected!r} missing from {names}"
    # The other modules are in the table too, measured or marked "not available", never silently absent.
    for module in ("converter", "directory", "publications"):
        assert any(item.get("module") == module or item["figure"].startswith(module) for item in figures), module
    assert result.stdout.startswith("| figure | value | baseline | ratio | target | met |")


@pytest.mark.slow
def test_smoke_run_measures_the_import_figures(smoke_results) -> None:
    _, data = smoke_results
    rows = {item["figure"]: item for item in data["figures"] if item.get("module") == "imports"}
    for name, item in rows.items():
        assert item["value"] is not None, f"{name}: {item['details']}"
        assert "error" not in item["details"], f"{name}: {item['details']}"
    calls = [item for name, item in rows.items() if name.startswith("Confluence calls per import")]
    assert all(isinstance(item["value"], int) for item in calls)


@pytest.mark.slow
def test_smoke_run_measures_the_publication_figures(smoke_results) -> None:
    _, data = smoke_results
    rows = [item for item in data["figures"] if item.get("module") == "publications"]
    names = [item["figure"] for item in rows]
    for run in ("first run", "second run, nothing changed"):
        for what in ("wall time", "Confluence requests"):
            assert any(run in name and what in name for name in names), f"{run} {what} missing from {names}"
    for item in rows:
        assert item["value"] is not None and "error" not in item["details"], item
        assert item["details"]["fewest_requests"] >= 2 and item["details"]["minimum_seconds"] >= 0
    second = next(item for item in rows if "second run" in item["figure"] and "requests" in item["figure"])
    assert second["details"]["statuses"] == {"unchanged": second["details"]["pages_planned"]}


def test_no_benchmark_process_outlives_the_run(smoke_results) -> None:
    _, data = smoke_results
    started = data["processes_started"]
    assert started, "the import module starts the stand-in and gunicorn"
    # Each was started as the leader of its own process group; a leftover worker would still be in that group.
    leftovers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) in started:  # pgrp
            leftovers.append(stat.parent.name)
    assert not leftovers, f"processes left running: {leftovers}"


def test_the_import_cpu_probe_splits_a_workers_cpu_into_its_parts() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.import_cpu", "--imports", "5", "--latency-ms", "0"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = {}
    for line in result.stdout.splitlines()[1:]:
        name, value = line.rsplit(None, 1)
        figures[name.strip()] = float(value)
    # Every part the worker timed is there, as a number of milliseconds (sizes prove nothing at smoke scale).
    for part in ("the import view", "conversion", "the Confluence calls (requests, 2 calls)",
                 "the received record (token lock, rate count, insert)", "of which any request pays (GET /healthz)"):
        assert figures[part] >= 0, part
    assert figures["conversion"] > 0 and figures["the import view"] > figures["conversion"]

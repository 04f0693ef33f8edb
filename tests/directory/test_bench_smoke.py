"""The directory benchmark at tiny sizes, so it cannot rot between ``make bench`` runs (a few seconds)."""

from __future__ import annotations

import pytest

from bench.directory import run


@pytest.mark.slow
def test_the_directory_benchmark_runs_and_meets_its_targets_at_smoke_size():
    figures = run(smoke=True)

    by_name = {figure["figure"]: figure for figure in figures}
    assert set(by_name) == {
        "directory sync: requests made ÷ the fewest the API allows",
        "directory sync: wall time, first run",
        "directory sync: wall time, second run (nothing changed)",
        "directory sync: peak memory of the sync process",
        "directory sync: rows written by a second run with nothing changed",
    }
    for figure in figures:
        assert set(figure) == {"figure", "value", "unit", "baseline", "ratio", "target", "met", "details"}
    requests = by_name["directory sync: requests made ÷ the fewest the API allows"]
    assert requests["met"] is True
    assert requests["baseline"] == 2 + 1 + 2 + 600  # 2 x 150 pages, 300 users: 1 search + 2 bulk, 2 per page
    assert by_name["directory sync: rows written by a second run with nothing changed"]["value"] == 0

"""Benchmark of the Markdown → storage converter (not a test: it reports, it does not judge CI).

``run()`` builds a realistic document with every construct the converter handles, then times
``convert()`` against plain ``markdown.markdown()`` with the same bundled extensions, in the same
process, interleaving the two so machine noise hits both alike.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable

import markdown

from confluence.converter import convert

# Python-Markdown's bundled extensions that our converter builds on, with fenced_code in place of
# our own fence handling: the fair "same extensions" baseline.
BASELINE_EXTENSIONS = ["tables", "fenced_code", "footnotes", "def_list", "admonition", "sane_lists"]
RATIO_TARGET = 1.3
SMALL_DOCUMENT_TARGET_MS = 10.0

_SECTION = """\
## Section {n}: deploying service {n}

This section explains *how* the **service {n}** is deployed, with `inline code`, ~~old advice~~,
a [link](https://example.com/docs/{n} "Docs"), an autolink <https://example.org/{n}>, a
[reference link][ref{n}] and a jump to [the first section](#section-0-deploying-service-0).
Text with a bare & ampersand, a < sign, H<sub>2</sub>O and <kbd>Ctrl</kbd>+<kbd>C</kbd>.{footnote}
A hard break follows.{hard_break}
Then the paragraph continues &mdash; with an entity.

- Step one
  - nested with two spaces
    - and deeper
- Step two
    1. four-space nested ordered
    2. second

3. ordered list starting at three
4. four

- [ ] open task {n}
- [x] done task {n}

```python
def handler_{n}(event: dict) -> str:
    # A comment with ]]> inside, which must survive CDATA.
    return f"{{event['id']}} <ok> & done"
```

    indented_code = {n}

| Name | Value | Note |
|:-----|------:|:----:|
| a{n} | {n} | *x* |
| b{n} | {n}.5 | `y` |

> A quote about service {n}.
> > Nested quote.

> [!WARNING]
> Restart service {n} before lunch.

!!! tip "Tip {n}"
    Admonition body with **strong** text.

![diagram](images/diagram-{n}.png) ![badge](https://img.example.com/badge-{n}.svg)

<details>
<summary>More about {n}</summary>

Hidden *details* for {n}.

</details>

Term {n}
: Definition of term {n}.

---

[ref{n}]: https://example.com/ref/{n}
"""


_PROSE_SECTION = """\
## {n}. Operating the service

The service reads its settings from the environment when it starts, so a change needs a restart. Most
teams keep the values in their deployment tool and review them like code; see the [configuration
reference](https://example.com/docs/config) for every variable and its default. The defaults suit a
single instance; a cluster needs a shared cache, or the rate limits are counted per process.

Before an upgrade, read the release notes and take a backup of the database. The migration runs on
start and is safe to repeat, but it cannot be undone without the backup. On a large database it may
take a few minutes, during which the health check answers `503` and the load balancer keeps traffic away.

- Check that the backup finished and can be restored.
- Stop the scheduled jobs, so that no job runs against half-migrated tables.
- Deploy the new version to one server first and watch its logs for errors.
- Then roll it out to the others, one at a time.

When something goes wrong, the request id in the error answer finds the matching log line. Logs never
hold request bodies or secrets, so they can be shared with support as they are.

```sh
grep "request_id=4f1c" /var/log/service/app.log
```

| setting | default | meaning |
|---|---|---|
| `WORKERS` | 2 | processes serving requests |
| `TIMEOUT` | 30 | seconds before a request is abandoned |

"""


def build_prose_document(size: int) -> str:
    """A document of about ``size`` characters that reads like a runbook or README: mostly
    paragraphs, with a list, a code block and a small table per section."""
    parts = ["# Service handbook\n\nHow to run the service day to day.\n\n"]
    length = len(parts[0])
    n = 1
    while length < size:
        section = _PROSE_SECTION.format(n=n)
        parts.append(section)
        length += len(section)
        n += 1
    return "".join(parts)


def build_document(size: int) -> str:
    """A document of about ``size`` characters: front matter, [TOC], then repeated sections."""
    parts = ["---\ntitle: Benchmark\nlabels: [bench, converter]\n---\n# Benchmark\n\n[TOC]\n\n"]
    length = len(parts[0])
    footnotes: list[str] = []
    n = 0
    while length < size:
        footnote = f"[^{n}]" if n % 5 == 0 else ""
        if footnote:
            footnotes.append(f"[^{n}]: Footnote {n}.\n")
        section = _SECTION.format(n=n, footnote=footnote, hard_break="  ")
        parts.append(section)
        length += len(section)
        n += 1
    parts.append("\n" + "".join(footnotes))
    return "".join(parts)


def _baseline(text: str) -> str:
    return markdown.markdown(text, extensions=BASELINE_EXTENSIONS)


def _converter(text: str) -> str:
    return convert(text).body


def _interleaved(
    functions: dict[str, Callable[[str], str]], text: str, runs: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """(CPU seconds, wall seconds) per function and run. The figures use CPU time of this
    process: on a shared machine wall time mostly measures the neighbours."""
    cpu: dict[str, list[float]] = {name: [] for name in functions}
    wall: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(runs):
        for name, function in functions.items():
            gc.collect()
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            function(text)
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start_wall)
    return cpu, wall


def _peak_memory(function: Callable[[str], str], text: str) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        function(text)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _spread(samples: list[float]) -> dict[str, float]:
    return {"min": min(samples), "max": max(samples), "median": statistics.median(samples), "runs": len(samples)}


def _milliseconds(samples: list[float]) -> dict[str, float]:
    return {key: value * 1000 if key != "runs" else value for key, value in _spread(samples).items()}


def _ten_kilobyte_figure(
    kind: str, document: str, times: dict[str, list[float]], wall: dict[str, list[float]]
) -> dict:
    converter_ms = statistics.median(times["converter"]) * 1000
    baseline_ms = statistics.median(times["baseline"]) * 1000
    return {
        "figure": f"10 KB document conversion time ({kind})",
        "value": converter_ms,
        "unit": "ms",
        "baseline": baseline_ms,
        "ratio": converter_ms / baseline_ms,
        "target": f"< {SMALL_DOCUMENT_TARGET_MS}",
        "met": converter_ms < SMALL_DOCUMENT_TARGET_MS,
        "details": {
            "bytes": len(document.encode()),
            "clock": "process CPU time",
            "converter_ms": _milliseconds(times["converter"]),
            "baseline_ms": _milliseconds(times["baseline"]),
            "converter_wall_ms": _milliseconds(wall["converter"]),
        },
    }


def run(*, smoke: bool = False) -> list[dict]:
    size = 20_000 if smoke else 1_000_000
    runs = 2 if smoke else 7
    document = build_document(size)
    megabytes = len(document.encode()) / 1_000_000
    # Warm both paths (imports, regex compilation) before timing.
    _converter(document[:20_000])
    _baseline(document[:20_000])

    times, wall = _interleaved({"converter": _converter, "baseline": _baseline}, document, runs)
    converter_median = statistics.median(times["converter"])
    baseline_median = statistics.median(times["baseline"])
    ratio = converter_median / baseline_median

    small = build_document(10_000)
    small_runs = 5 if smoke else 50
    small_times, small_wall = _interleaved({"converter": _converter, "baseline": _baseline}, small, small_runs)

    prose = build_prose_document(10_000)
    prose_times, prose_wall = _interleaved({"converter": _converter, "baseline": _baseline}, prose, small_runs)

    converter_peak = _peak_memory(_converter, document)
    baseline_peak = _peak_memory(_baseline, document)

    document_details = {"bytes": len(document.encode()), "smoke": smoke}
    return [
        {
            "figure": "converter time / markdown.markdown() time",
            "value": ratio,
            "unit": "ratio",
            "baseline": None,
            "ratio": ratio,
            "target": f"<= {RATIO_TARGET}",
            "met": ratio <= RATIO_TARGET,
            "details": {
                **document_details,
                "converter_s": _spread(times["converter"]),
                "baseline_s": _spread(times["baseline"]),
                "clock": "process CPU time",
                "converter_wall_s": _spread(wall["converter"]),
                "baseline_wall_s": _spread(wall["baseline"]),
                "extensions": BASELINE_EXTENSIONS,
            },
        },
        {
            "figure": "converter throughput",
            "value": megabytes / converter_median,
            "unit": "MB/s",
            "baseline": megabytes / baseline_median,
            "ratio": baseline_median / converter_median,
            "target": "report",
            "met": None,
            "details": document_details,
        },
        {
            "figure": "converter peak memory",
            "value": converter_peak / 1_000_000,
            "unit": "MB",
            "baseline": baseline_peak / 1_000_000,
            "ratio": converter_peak / baseline_peak,
            "target": "report",
            "met": None,
            "details": {**document_details, "measured_with": "tracemalloc"},
        },
        _ten_kilobyte_figure("every construct, densely", small, small_times, small_wall),
        _ten_kilobyte_figure("prose, like a README or runbook", prose, prose_times, prose_wall),
    ]


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))

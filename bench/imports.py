"""The import API's figures: latency of one import against the Confluence calls it cannot avoid, calls per import,
throughput against the stand-in-bound maximum, the cost of authentication, a 429 storm, and a worker's memory.

Everything runs against real processes on loopback: the stand-in (``python -m confluence.standin``) and the portal
under gunicorn with a throw-away SQLite database (or ``--database-url``). Each timed figure is measured interleaved
with its baseline, so noise from other work on the machine hits both alike.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from bench.common import (
    Database,
    Portal,
    Standin,
    gunicorn,
    markdown_document,
    prepare_database,
    proc_status_kib,
    reset_peak_rss,
    row,
    standin,
    summary,
    workdir,
    workers_cpu_seconds,
)
from confluence.converter import convert

logger = logging.getLogger(__name__)

SPACE = "DOCS"
# imports.services.PROPERTY_KEY, spelled out: importing it would need Django configured in this process.
PROPERTY_KEY = "md-confluence-portal.import"
# The fewest Confluence calls each case allows (space id cached; no title look-up before a create).
FEWEST_CALLS = {"new page": 2, "overwrite of a changed page": 4, "unchanged page": 2}
CLIENTS = 16
# 2 workers x 8 threads: 16 requests in flight, one per client, on the 2 cores the issue names; the workers
# spend most of an import waiting on Confluence, which threads overlap.
WORKERS, THREADS = 2, 8
REQUEST_TIMEOUT = 120


@dataclass(frozen=True)
class Sizes:
    latency_ms: float
    single_runs: int
    calls_runs: int
    throughput_seconds: float
    noop_runs: int
    storm_imports: int
    storm_clients: int
    storm_retry_after: float
    memory_bytes: int

    @classmethod
    def for_mode(cls, smoke: bool) -> Sizes:
        if smoke:
            return cls(latency_ms=5, single_runs=5, calls_runs=1, throughput_seconds=1.0, noop_runs=10,
                       storm_imports=6, storm_clients=3, storm_retry_after=0.2, memory_bytes=64 * 1024)
        return cls(latency_ms=50, single_runs=101, calls_runs=5, throughput_seconds=15.0, noop_runs=401,
                   storm_imports=100, storm_clients=CLIENTS, storm_retry_after=1, memory_bytes=1024 * 1024 - 64)


def run(*, smoke: bool = False, database_url: str | None = None) -> list[dict[str, Any]]:
    sizes = Sizes.for_mode(smoke)
    with workdir() as path, standin(path, latency_ms=sizes.latency_ms) as confluence:
        database = prepare_database(path, confluence.url, database_url=database_url)
        bench = _Bench(sizes=sizes, confluence=confluence)
        rows: list[dict[str, Any]] = []
        with gunicorn(database, workers=WORKERS, threads=THREADS) as portal:
            bench.portal = portal
            bench.warm_up()
            rows += bench.guarded("import of a new 10 KB page", bench.single_import, count=3)
            rows += bench.guarded("Confluence calls per import", bench.calls_per_import, count=3)
            rows += bench.guarded("imports per second", bench.throughput)
            rows += bench.guarded("authenticated no-op API request", bench.noop_request)
            rows += bench.guarded(f"{sizes.storm_imports} imports under a 30 % 429 storm", bench.storm)
        rows += bench.guarded("peak memory of one worker", lambda: bench.memory(database))
        return rows


class _Bench:
    def __init__(self, *, sizes: Sizes, confluence: Standin) -> None:
        self.sizes = sizes
        self.confluence = confluence
        self.portal: Portal
        self.document = markdown_document(10 * 1024)
        self._space_id: str | None = None

    # ------------------------------------------------------------------ plumbing

    def guarded(self, figure: str, measure: Callable[[], list[dict[str, Any]]], count: int = 1) -> list[dict[str, Any]]:
        """A failed measurement becomes a row that says so; the other figures still run."""
        try:
            return measure()
        except Exception as exc:
            logger.exception("%s failed", figure)
            failed = row(figure, None, "", None, "", False, {"error": f"{type(exc).__name__}: {exc}"[:500]})
            return [failed] * count

    def space_id(self) -> str:
        if self._space_id is None:
            response = self.confluence.direct_session().get(
                f"{self.confluence.url}/wiki/api/v2/spaces", params={"keys": SPACE, "limit": 1}, timeout=10
            )
            response.raise_for_status()
            self._space_id = str(response.json()["results"][0]["id"])
        return self._space_id

    def import_page(self, session: requests.Session, title: str, content: str, *, overwrite: bool = False) -> requests.Response:
        return session.post(
            f"{self.portal.url}/api/v1/imports",
            json={"spaceId": SPACE, "pageTitle": title, "content": content, "overwrite": overwrite},
            timeout=REQUEST_TIMEOUT,
        )

    def import_new(self, session: requests.Session) -> float:
        """One import of a new page; its wall time in ms. A failed import raises: a fast error is no result."""
        title = f"bench {uuid.uuid4().hex}"
        started = time.perf_counter()
        response = self.import_page(session, title, self.document)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 201:
            raise RuntimeError(f"import answered {response.status_code}: {response.text[:300]}")
        return elapsed

    def direct_new(self, session: requests.Session, body: str) -> float:
        """The same two calls the portal makes for a new page, straight to the stand-in with ``requests``."""
        title = f"direct {uuid.uuid4().hex}"
        started = time.perf_counter()
        created = session.post(
            f"{self.confluence.url}/wiki/api/v2/pages",
            json={"spaceId": self.space_id(), "status": "current", "title": title,
                  "body": {"representation": "storage", "value": body}},
            timeout=REQUEST_TIMEOUT,
        )
        created.raise_for_status()
        page_id = created.json()["id"]
        prop = session.post(
            f"{self.confluence.url}/wiki/api/v2/pages/{page_id}/properties",
            json={"key": PROPERTY_KEY, "value": {"importId": str(uuid.uuid4()), "contentHash": "0" * 64}},
            timeout=REQUEST_TIMEOUT,
        )
        prop.raise_for_status()
        return (time.perf_counter() - started) * 1000

    def warm_up(self) -> None:
        """Load every worker's code, its database connection, its Confluence client and the space id cache:
        more concurrent imports than request slots, so every worker thread gets some."""
        slots = self.portal.workers * self.portal.threads
        with ThreadPoolExecutor(slots) as pool:
            sessions = [self.portal.session() for _ in range(slots)]
            for _round in range(2):
                list(pool.map(self.import_new, sessions))

    # ------------------------------------------------------------------ figures

    def single_import(self) -> list[dict[str, Any]]:
        portal_session = self.portal.session()
        direct_session = self.confluence.direct_session()
        # The baseline sends what the portal would send: the converted storage body of the same document.
        body = convert(self.document, title="bench").body
        self.direct_new(direct_session, body)
        portal_ms: list[float] = []
        direct_ms: list[float] = []
        # The portal's own CPU, server side: what its worker processes spend (user + system, from /proc) while they
        # serve these imports and nothing else; Confluence's waits cost it no CPU.
        cpu_before = workers_cpu_seconds(self.portal.worker_pids())
        for _ in range(self.sizes.single_runs):
            direct_ms.append(self.direct_new(direct_session, body))
            portal_ms.append(self.import_new(portal_session))
        portal_cpu_ms = (workers_cpu_seconds(self.portal.worker_pids()) - cpu_before) * 1000 / self.sizes.single_runs
        # What converting the document costs on this machine, in this process: the part of the portal's time that
        # no baseline of bare HTTP calls contains, and the floor under its overhead.
        convert_ms: list[float] = []
        convert_cpu_ms: list[float] = []
        for _ in range(min(21, self.sizes.single_runs)):
            started, started_cpu = time.perf_counter(), time.process_time()
            convert(self.document, title="bench")
            convert_ms.append((time.perf_counter() - started) * 1000)
            convert_cpu_ms.append((time.process_time() - started_cpu) * 1000)
        portal, direct = summary(portal_ms), summary(direct_ms)
        details = {"portal_ms": portal, "direct_ms": direct, "convert_ms": summary(convert_ms),
                   "overhead_p50_ms": round(portal["p50"] - direct["p50"], 2), "runs": self.sizes.single_runs,
                   "latency_ms": self.sizes.latency_ms, "document_bytes": len(self.document.encode())}
        p50 = row("import of a new 10 KB page, p50", portal["p50"], "ms", direct["p50"], "≤ 1.10×", None, details)
        p50["met"] = p50["ratio"] is not None and p50["ratio"] <= 1.10
        p95 = row("import of a new 10 KB page, p95", portal["p95"], "ms", direct["p95"], "reported", None, details)
        converter_cpu = summary(convert_cpu_ms)["p50"]
        cpu = row(
            "portal CPU per import, server side (baseline: converting the same document)", round(portal_cpu_ms, 2),
            "ms", converter_cpu, "conversion + a few ms", None,
            {"beyond_conversion_ms": round(portal_cpu_ms - converter_cpu, 2), "runs": self.sizes.single_runs,
             "converter_cpu_ms": summary(convert_cpu_ms)},
        )
        return [p50, p95, cpu]

    def calls_per_import(self) -> list[dict[str, Any]]:
        """Stand-in request counts around one import at a time, per case; the median over several runs, so a
        worker whose space-id cache is still cold cannot decide the figure alone (the max shows it)."""
        session = self.portal.session()
        observed: dict[str, list[int]] = {case: [] for case in FEWEST_CALLS}
        operations: dict[str, Counter[str]] = {case: Counter() for case in FEWEST_CALLS}
        statuses: dict[str, list[int]] = {case: [] for case in FEWEST_CALLS}

        def counted(case: str, title: str, content: str, overwrite: bool) -> None:
            before = Counter(self.confluence.operations())
            response = self.import_page(session, title, content, overwrite=overwrite)
            after = Counter(self.confluence.operations())
            delta = after - before
            statuses[case].append(response.status_code)
            observed[case].append(sum(delta.values()))
            operations[case].update(delta)

        for run_index in range(self.sizes.calls_runs):
            title = f"calls {uuid.uuid4().hex}"
            counted("new page", title, markdown_document(10 * 1024, seed=f"{run_index}a"), False)
            changed = markdown_document(10 * 1024, seed=f"{run_index}b")
            counted("overwrite of a changed page", title, changed, True)
            counted("unchanged page", title, changed, True)
        rows = []
        for case, fewest in FEWEST_CALLS.items():
            calls = sorted(observed[case])
            median = calls[len(calls) // 2]
            details = {"runs": len(calls), "min": calls[0], "max": calls[-1], "statuses": statuses[case],
                       "operations_per_import": {op: n / len(calls) for op, n in sorted(operations[case].items())}}
            rows.append(row(f"Confluence calls per import: {case}", median, "calls", fewest, f"= {fewest}",
                            median == fewest and all(s in (200, 201) for s in statuses[case]), details))
        return rows

    def _load(self, work: Callable[[requests.Session], float], sessions: list[requests.Session],
              seconds: float) -> tuple[int, float, list[float], Counter[str]]:
        """Every session in its own thread, calling ``work`` back to back for ``seconds``; completed calls,
        the wall time they took, their latencies and the errors seen."""
        stop_at = time.monotonic() + seconds
        lock = threading.Lock()
        latencies: list[float] = []
        errors: Counter[str] = Counter()

        def client(session: requests.Session) -> None:
            while time.monotonic() < stop_at:
                try:
                    elapsed = work(session)
                except Exception as exc:
                    with lock:
                        errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                    continue
                with lock:
                    latencies.append(elapsed)

        started = time.monotonic()
        with ThreadPoolExecutor(len(sessions)) as pool:
            list(pool.map(client, sessions))
        return len(latencies), time.monotonic() - started, latencies, errors

    def throughput(self) -> list[dict[str, Any]]:
        clients = CLIENTS
        bound = clients / (FEWEST_CALLS["new page"] * self.sizes.latency_ms / 1000)
        # The same load sent straight to the stand-in shows what this machine allows without the portal
        # (the stand-in and the clients share its cores with gunicorn).
        body = convert(self.document, title="bench").body
        direct_sessions = [self.confluence.direct_session() for _ in range(clients)]
        direct_done, direct_wall, _, _ = self._load(
            lambda s: self.direct_new(s, body), direct_sessions, min(5.0, self.sizes.throughput_seconds)
        )
        sessions = [self.portal.session() for _ in range(clients)]
        self._load(self.import_new, sessions, min(2.0, self.sizes.throughput_seconds / 5))  # warm: pools full
        done, wall, latencies, errors = self._load(self.import_new, sessions, self.sizes.throughput_seconds)
        per_second = round(done / wall, 1)
        details = {
            "clients": clients, "workers": self.portal.workers, "threads": self.portal.threads,
            "seconds": round(wall, 1), "imports": done, "errors": dict(errors),
            "latency_ms": summary(latencies) if latencies else None,
            "direct_same_calls_per_second": round(direct_done / direct_wall, 1),
            "standin_latency_ms": self.sizes.latency_ms,
        }
        result = row(f"imports per second, {clients} clients", per_second, "imports/s", round(bound, 1), "≥ 0.8×",
                     None, details)
        result["met"] = result["ratio"] is not None and result["ratio"] >= 0.8 and not errors
        return [result]

    def noop_request(self) -> list[dict[str, Any]]:
        authenticated = self.portal.session()
        anonymous = requests.Session()
        token_ms: list[float] = []
        health_ms: list[float] = []

        def timed(session: requests.Session, path: str, into: list[float]) -> None:
            started = time.perf_counter()
            response = session.get(f"{self.portal.url}{path}", timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")
            into.append(elapsed)

        for _ in range(5):  # warm: connections open, code paths loaded
            timed(authenticated, "/api/v1/token", [])
            timed(anonymous, "/healthz", [])
        for _ in range(self.sizes.noop_runs):
            timed(authenticated, "/api/v1/token", token_ms)
            timed(anonymous, "/healthz", health_ms)
        token, health = summary(token_ms), summary(health_ms)
        result = row("authenticated no-op API request (GET /api/v1/token), p50", token["p50"], "ms", health["p50"],
                     "≤ 1.2×", None, {"token_ms": token, "healthz_ms": health, "runs": self.sizes.noop_runs})
        result["met"] = result["ratio"] is not None and result["ratio"] <= 1.2
        return [result]

    def storm(self) -> list[dict[str, Any]]:
        """Imports while the stand-in answers 30 % of calls with 429 and Retry-After; each client sends each
        import once (no client-side retry), so every success is the portal's own doing."""
        imports, clients = self.sizes.storm_imports, self.sizes.storm_clients
        figure = f"{imports} imports under a 30 % 429 storm (Retry-After: {self.sizes.storm_retry_after:g}), succeeded"
        titles = [f"storm {uuid.uuid4().hex}" for _ in range(imports)]
        pages_before = self.confluence.stats()["data"]["pages"]
        injected_before = self.confluence.stats()["faults_injected"]
        self.confluence.knobs(fraction={"rate": 0.3, "status": 429, "retry_after": self.sizes.storm_retry_after})
        statuses: Counter[str] = Counter()
        durations: list[float] = []
        lock = threading.Lock()
        local = threading.local()

        def one(title: str) -> None:
            if not hasattr(local, "session"):
                local.session = self.portal.session()
            started = time.perf_counter()
            try:
                response = self.import_page(local.session, title, self.document)
                outcome = str(response.status_code)
                if response.status_code >= 400:
                    outcome += " " + response.json().get("error", {}).get("code", "")
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            with lock:
                statuses[outcome] += 1
                durations.append(time.perf_counter() - started)

        started = time.monotonic()
        try:
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(one, titles))
        finally:
            self.confluence.knobs(fraction={"rate": 0.0})
        wall = time.monotonic() - started
        stats = self.confluence.stats()
        pages_created = stats["data"]["pages"] - pages_before
        succeeded = statuses.get("201", 0)
        # Titles are unique per space, so a duplicate would show as more pages than successful imports,
        # and a create lost after it happened (then refused as a duplicate title) as a failed import.
        duplicates = max(0, pages_created - succeeded)
        details = {
            "clients": clients, "seconds": round(wall, 1), "responses": dict(statuses),
            "pages_created": pages_created, "duplicate_or_orphan_pages": duplicates,
            "throttled_calls": stats["faults_injected"] - injected_before,
            "import_seconds": summary(durations) if durations else None,
        }
        met = succeeded == imports and duplicates == 0
        return [row(figure, succeeded, "imports", imports, "all succeed, 0 duplicate pages", met, details)]

    def memory(self, database: Database) -> list[dict[str, Any]]:
        """A one-worker gunicorn of its own, so the idle figure and the peak are the same process's and no
        earlier load has raised its high-water mark."""
        size = self.sizes.memory_bytes
        document = markdown_document(size)
        with gunicorn(database, workers=1, threads=1, name="gunicorn-memory") as portal:
            self.portal = portal
            session = portal.session()
            self.import_new(session)  # the first import loads the converter and the client: part of "idle"
            (pid,) = portal.worker_pids()
            idle_kib = proc_status_kib(pid, "VmRSS") or 0
            cleared = reset_peak_rss(pid)
            sampled = [idle_kib]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    rss = proc_status_kib(pid, "VmRSS")
                    if rss:
                        sampled.append(rss)
                    time.sleep(0.005)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()
            try:
                response = self.import_page(session, f"memory {uuid.uuid4().hex}", document)
            finally:
                done.set()
                sampler.join()
            elapsed = time.perf_counter() - started
            hwm = proc_status_kib(pid, "VmHWM") if cleared else None
            peak_kib = max([*sampled, hwm or 0])
        details = {
            "content_bytes": len(document.encode()), "status": response.status_code, "import_seconds": round(elapsed, 2),
            "idle_rss_mib": round(idle_kib / 1024, 1), "peak_source": "VmHWM after clear_refs" if cleared else
            "VmRSS sampled every 5 ms", "sampled_peak_mib": round(max(sampled) / 1024, 1),
        }
        return [row(f"peak memory of one worker during a {size / 1024 / 1024:.2g} MiB import",
                    round(peak_kib / 1024, 1), "MiB", round(idle_kib / 1024, 1), "reported",
                    None if response.status_code == 201 else False, details)]

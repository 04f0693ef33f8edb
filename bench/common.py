"""What every benchmark module shares: the Confluence stand-in and the portal under gunicorn as separate processes
on loopback, a throw-away database, statistics that show the spread, and a realistic Markdown document.

Every process started here runs in its own session (process group), so stopping it kills its children too
(gunicorn's workers); the context managers stop them even when a measurement fails.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STARTUP_TIMEOUT = 30.0
# Every process this run started, so bench.run can record them and the smoke test can check none outlived it.
STARTED_PIDS: list[int] = []


# ----------------------------------------------------------------------------------- statistics


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default does."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(samples: Sequence[float], digits: int = 2) -> dict[str, Any]:
    """Median with its spread: what a table cell shows and what a reader needs to judge it."""
    return {
        "n": len(samples),
        "min": round(min(samples), digits),
        "p5": round(percentile(samples, 5), digits),
        "p50": round(percentile(samples, 50), digits),
        "p95": round(percentile(samples, 95), digits),
        "max": round(max(samples), digits),
    }


def ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return round(value / baseline, 3)


def row(
    figure: str,
    value: float | None,
    unit: str,
    baseline: float | None,
    target: str,
    met: bool | None,
    details: dict[str, Any] | None = None,
    *,
    ratio_value: float | None = None,
) -> dict[str, Any]:
    """One result in the shape every bench module returns."""
    return {
        "figure": figure,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": ratio_value if ratio_value is not None else ratio(value, baseline),
        "target": target,
        "met": met,
        "details": details or {},
    }


# ----------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process's whole group (gunicorn drains its workers on it), SIGKILL what is left."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode} while starting; see {log}:\n{_tail(log)}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {STARTUP_TIMEOUT:.0f} s; see {log}:\n{_tail(log)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Standin:
    """The stand-in in its own process, driven through its control API."""

    url: str
    process: subprocess.Popen[bytes]
    session: requests.Session = field(default_factory=requests.Session)

    def control(self, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if body is None:
            response = self.session.get(f"{self.url}/__standin__/{action}", timeout=10)
        else:
            response = self.session.post(f"{self.url}/__standin__/{action}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def knobs(self, **knobs: Any) -> dict[str, Any]:
        return self.control("knobs", knobs)

    def stats(self) -> dict[str, Any]:
        return self.control("stats")

    def operations(self) -> dict[str, int]:
        return dict(self.stats()["operations"])

    def direct_session(self) -> requests.Session:
        """A session that calls the stand-in the way the portal's client does (basic auth, JSON)."""
        session = requests.Session()
        session.auth = (DEFAULT_EMAIL, DEFAULT_TOKEN)
        session.headers["Accept"] = "application/json"
        return session


@contextmanager
def standin(workdir: Path, *, latency_ms: float) -> Iterator[Standin]:
    port = free_port()
    log = workdir / "standin.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PYTHON, "-m", "confluence.standin", "--port", str(port), "--latency-ms", str(latency_ms)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    STARTED_PIDS.append(process.pid)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/__standin__/stats", process, log)
        yield Standin(url=url, process=process)
    finally:
        _stop_group(process)


@dataclass
class Portal:
    """The portal under gunicorn: its URL, a bearer token for one instance, and its worker processes."""

    url: str
    token: str
    process: subprocess.Popen[bytes]
    workers: int
    threads: int

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session


def workers_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (fields 14 and 15 of /proc/PID/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


@dataclass
class Database:
    """A migrated database with one instance pointing at the stand-in and a token for it."""

    env: dict[str, str]
    token: str
    workdir: Path


def portal_env(workdir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        DATABASE_URL=database_url or f"sqlite:///{workdir / 'portal.sqlite3'}",
        # The benchmark is about the portal's own cost, not its per-token import limit.
        IMPORT_RATE_LIMIT_PER_MINUTE="100000",
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], *args: str, extra_env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=REPO, env={**env, **(extra_env or {})},
        capture_output=True, text=True, timeout=120, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


def prepare_database(workdir: Path, standin_url: str, *, database_url: str | None = None) -> Database:
    """Migrate, add an instance for the stand-in and issue a token, through the same commands an operator uses."""
    env = portal_env(workdir, database_url)
    _manage(env, "migrate", "--noinput", "--verbosity", "0")
    # A fresh name each run, so a shared PostgreSQL database given with --database-url can be reused.
    name = f"bench-{secrets.token_hex(4)}"
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    _manage(env, "create_instance", name, "--url", standin_url, "--email", DEFAULT_EMAIL, "--license-until", until,
            extra_env={"CONFLUENCE_API_TOKEN": DEFAULT_TOKEN})
    # The portal logs to stdout, and issue_token's own "token issued" log line lands there before the secret;
    # the secret is the last line.
    printed = _manage(env, "issue_token", "--instance", name, "--label", name, "--days", "7")
    token = printed.strip().splitlines()[-1].strip()
    return Database(env=env, token=token, workdir=workdir)


@contextmanager
def gunicorn(database: Database, *, workers: int, threads: int, name: str = "gunicorn",
             config: str = "portal/gunicorn.conf.py") -> Iterator[Portal]:
    port = free_port()
    env = {**database.env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers),
           "GUNICORN_THREADS": str(threads)}
    binary = Path(PYTHON).parent / "gunicorn"
    command = [str(binary)] if binary.exists() else [PYTHON, "-m", "gunicorn"]
    log = database.workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "-c", config, "portal.wsgi"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    STARTED_PIDS.append(process.pid)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/healthz", process, log)
        portal = Portal(url=url, token=database.token, process=process, workers=workers, threads=threads)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while len(portal.worker_pids()) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        yield portal
    finally:
        _stop_group(process)


@contextmanager
def workdir(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


# ----------------------------------------------------------------------------------- memory


def proc_status_kib(pid: int, field_name: str) -> int | None:
    """A ``kB`` line of /proc/<pid>/status (VmRSS, VmHWM), or None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+: write 5 to clear_refs); False where that is not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# ----------------------------------------------------------------------------------- documents

_PARAGRAPH = (
    "The portal turns **Markdown** into Confluence storage format, keeps an _audit record_ of every import, and "
    "retries politely when Confluence asks it to wait. See [the API](https://example.com/api) and `make bench`. "
)


def markdown_document(size_bytes: int, *, seed: str = "") -> str:
    """A document of about ``size_bytes`` that looks like real documentation: headings, paragraphs, lists,
    tables and code, with ``seed`` mixed in so two documents differ in content, not just title."""
    parts: list[str] = []
    size = 0
    section = 0
    while True:
        section += 1
        block = (
            f"## Section {section} {seed}\n\n{_PARAGRAPH * 3}\n\n"
            f"- first point of {section}\n- second point with `code`\n  - nested detail\n\n"
            "| name | value | note |\n|---|---|---|\n"
            + "".join(f"| item {i} | {i * section} | *fine* |\n" for i in range(4))
            + f"\n```python\ndef section_{section}() -> int:\n    return {section}\n```\n\n"
            f"> A quote for section {section}.\n\n"
        )
        if size + len(block.encode()) > size_bytes:
            break
        parts.append(block)
        size += len(block.encode())
    filler = size_bytes - size
    if filler > 0:
        parts.append(("x" * max(0, filler - 1)) + "\n")
    return "".join(parts)

"""Real worker processes (`manage.py run_worker`) on the test database, for the tests that claim concurrency and
recovery: no eager mode, no shared memory with the test, only the database and the stand-in over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.imports.test_two_processes import database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def start_worker(settings) -> Iterator[Callable[..., subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start(name: str, **env: str) -> subprocess.Popen:
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url(),
            "LOG_LEVEL": "WARNING",
            "TASK_WORKER_INTERVAL": "0.1",
            **env,
        }
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--no-reload", "--no-startup-delay", "--worker-id", name],
            cwd=ROOT, env=environment, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str, workers: list[subprocess.Popen] = ()) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        for process in workers:
            if process.poll() is not None and process.returncode not in (0, -9):
                raise AssertionError(f"a worker exited ({process.returncode}): {process.stderr.read().decode()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.1)

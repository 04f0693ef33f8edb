"""`make run`: the portal on http://127.0.0.1:8000 with a Confluence stand-in beside it, ready to try.

Migrates the SQLite database, makes sure the `admin` account exists, starts the in-memory Confluence
stand-in, seeds a `demo` instance with a valid license pointing at it, starts TASK_WORKERS background workers, and
serves the portal until Ctrl-C, which stops them all. Running it again reuses the database and the admin account.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN  # noqa: E402

PYTHON = sys.executable
PORTAL_ADDRESS = os.environ.get("PORTAL_ADDRESS", "127.0.0.1:8000")
STANDIN_PORT = int(os.environ.get("STANDIN_PORT", "8090"))
STANDIN_URL = f"http://127.0.0.1:{STANDIN_PORT}"


def manage(*args: str, env: dict[str, str] | None = None, quiet: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env or os.environ.copy(),
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def wait_until_up(url: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own loopback server
                return
        except urllib.error.HTTPError:
            return  # it answered, even if not 200
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"The Confluence stand-in did not start on {url}; is port {STANDIN_PORT} taken? Set STANDIN_PORT.")


def start_workers() -> list[subprocess.Popen]:
    """TASK_WORKERS background workers (publications, directory syncs) beside the portal, each in its own session
    so Ctrl-C reaches them only through stop()."""
    count = max(1, int(os.environ.get("TASK_WORKERS", "1")))
    print(f"==> {count} background worker{'s' if count > 1 else ''} (manage.py run_worker)")
    return [
        subprocess.Popen(
            [PYTHON, "manage.py", "run_worker", "--no-reload", "--worker-id", f"make-run-{n}", "--verbosity", "0"],
            cwd=ROOT,
            start_new_session=True,
        )
        for n in range(count)
    ]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the worker finishes its current task's step and exits
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (a supervisor, `timeout`) stops everything as Ctrl-C does


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupted)
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    os.chdir(ROOT)

    print("==> Database: applying migrations")
    manage("migrate", "--noinput", quiet=True)
    manage("ensure_admin")

    print(f"==> Confluence stand-in on {STANDIN_URL}")

    standin = subprocess.Popen(
        [PYTHON, "-m", "confluence.standin", "--host", "127.0.0.1", "--port", str(STANDIN_PORT)],
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        wait_until_up(f"{STANDIN_URL}/wiki/spaces")
        license_until = (dt.date.today() + dt.timedelta(days=365)).isoformat()
        manage(
            "create_instance", "demo", "--url", STANDIN_URL, "--email", DEFAULT_EMAIL, "--license-until", license_until,
            env={**os.environ, "CONFLUENCE_API_TOKEN": DEFAULT_TOKEN},
            quiet=True,
        )
        print(
            f"""
==> Ready. Open http://{PORTAL_ADDRESS}/ in a browser.

    1. Log in to the admin at http://{PORTAL_ADDRESS}/admin/ as `admin` (password above, or ADMIN_PASSWORD).
    2. Tokens → "Issue token" for the instance `demo` (its license is valid until {license_until}); copy the secret.
    3. Import a page:
         curl -s http://{PORTAL_ADDRESS}/api/v1/imports -H "Authorization: Bearer <secret>" \\
              -H "Content-Type: application/json" \\
              -d '{{"spaceId": "DEMO", "pageTitle": "Hello", "content": "# Hello\\n\\nFrom **Markdown**."}}'
    4. Follow the "url" in the answer to see the page in the stand-in Confluence ({STANDIN_URL}/wiki/spaces).
    5. Publish a folder of Markdown (zip it first); follow it in the admin under Publications:
         curl -s http://{PORTAL_ADDRESS}/api/v1/publications -H "Authorization: Bearer <secret>" \\
              -F spaceId=DEMO -F sourceRef=docs@main -F bundle=@docs.zip
    API documentation: http://{PORTAL_ADDRESS}/api/docs/    Health: http://{PORTAL_ADDRESS}/healthz
    Ctrl-C stops the portal, the workers and the stand-in.
""",
            flush=True,
        )
        workers = start_workers()
        try:
            server = subprocess.run([PYTHON, "manage.py", "runserver", PORTAL_ADDRESS], cwd=ROOT)
        finally:
            stop(workers)
        return server.returncode
    except KeyboardInterrupt:
        return 0
    finally:
        if standin.poll() is None:
            os.killpg(standin.pid, signal.SIGTERM)
            try:
                standin.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(standin.pid, signal.SIGKILL)
        print("==> Stopped the portal, the background workers and the Confluence stand-in.")


if __name__ == "__main__":
    sys.exit(main())

"""The console script as CI runs it: Ctrl-C (or a cancelled job's SIGTERM) during the wait exits at once, saying
the publication goes on in the portal and how to follow it; on a terminal the wait is a progress bar."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import time

import pytest

from tests.client.conftest import SCRIPT, docs_tree, environment


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.mark.parametrize(("signal_number", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_wait_tells_how_to_follow_the_publication(fake, tmp_path, signal_number, exit_code):
    docs_tree(tmp_path)
    fake.hang = True
    process = subprocess.Popen(
        [str(SCRIPT), "docs", "--space", "DOCS"], cwd=tmp_path, env=environment(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        # Interrupted while waiting: after the portal has answered at least one poll.
        wait_for(lambda: any(r.method == "GET" for r in fake.received))
        process.send_signal(signal_number)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    [publication_id] = fake.publications
    assert process.returncode == exit_code, err
    assert out == ""
    assert err.splitlines()[-1] == (
        f"portal-publish: interrupted: publication {publication_id} goes on in the portal; follow it with "
        f"'portal-publish status {publication_id} --wait' or GET {fake.url}/api/v1/publications/{publication_id}"
    )
    assert "Traceback" not in err


def test_on_a_terminal_the_wait_is_a_progress_bar(fake, tmp_path):
    docs_tree(tmp_path)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(SCRIPT), "docs", "--space", "DOCS"], cwd=tmp_path, env=environment(TERM="xterm", COLUMNS="100"),
        stdout=subprocess.PIPE, stderr=follower,
    )
    os.close(follower)
    screen = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the pty closes when the process ends
                break
            if not chunk:
                break
            screen += chunk
        out = process.communicate(timeout=20)[0].decode()
    finally:
        process.kill()
        os.close(leader)
    raw = screen.decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    assert process.returncode == 0
    assert "\x1b[" in raw, "colours and cursor moves on a terminal"
    assert "Publishing to DOCS" in text and "━" in text
    assert "3/3 pages succeeded" in text
    assert "queued, 0/3 pages" not in text, "no plain progress lines on a terminal"
    assert out.splitlines()[-1] == "succeeded: 3 pages (3 created)"

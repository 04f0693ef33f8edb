"""The stand-in's own surfaces: the HTML view people click through, the control API benchmarks steer it with, and
``python -m confluence.standin``."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from confluence.client import ConfluenceClient
from confluence.errors import RateLimited
from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN, StandinServer
from tests.confluence.conftest import FakeTime, make_client


def test_page_view_renders_storage_readably(client: ConfluenceClient, standin: StandinServer) -> None:
    body = (
        "<h2>Install</h2><p>Run &lt;this&gt;:</p>"
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>'
        "<ac:plain-text-body><![CDATA[pip install x && echo <done>]]></ac:plain-text-body></ac:structured-macro>"
        '<ac:structured-macro ac:name="warning"><ac:rich-text-body><p>Careful</p></ac:rich-text-body></ac:structured-macro>'
        '<p><a href="javascript:alert(1)">bad</a><script>alert(2)</script></p>'
        '<h2><ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">usage</ac:parameter></ac:structured-macro>'
        'Usage</h2><p><ac:link ac:anchor="usage"><ac:plain-text-link-body><![CDATA[see usage]]></ac:plain-text-link-body>'
        "</ac:link></p>"
    )
    page = client.create_page(space_id=client.space("DOCS").id, title="How to install", body=body)
    client.add_labels(page.id, ["setup"])
    shown = requests.get(page.web_url, timeout=5)
    assert shown.status_code == 200 and shown.headers["Content-Type"].startswith("text/html")
    html = shown.text
    assert "<h1>How to install</h1>" in html and "<h2>Install</h2>" in html
    assert '<pre data-language="bash"><code>pip install x &amp;&amp; echo &lt;done&gt;</code></pre>' in html
    assert '<div class="panel panel-warning"><p>Careful</p></div>' in html
    assert "javascript:" not in html and "alert(2)" not in html
    assert '<h2><a id="anchor-usage"></a>Usage</h2>' in html and '<a href="#anchor-usage">see usage</a>' in html
    assert '<span class="label">setup</span>' in html and "Documentation" in html
    overview = requests.get(f"{standin.url}/wiki/spaces/DOCS/overview", timeout=5).text
    assert f"/wiki/spaces/DOCS/pages/{page.id}/How+to+install" in overview
    assert "DOCS" in requests.get(f"{standin.url}/wiki", timeout=5).text
    assert requests.get(f"{standin.url}/wiki/spaces/DOCS/pages/999/x", timeout=5).status_code == 404


def test_control_api_steers_another_process(fake_time: FakeTime) -> None:
    # A server of its own: the session's shared one may still see a straggling request from an earlier test.
    with StandinServer(port=0) as standin:
        control = f"{standin.url}/__standin__"
        answer = requests.post(
            f"{control}/knobs", json={"latency_ms": 5, "fraction": {"rate": 1.0, "retry_after": 1}}, timeout=5
        )
        assert answer.status_code == 200 and answer.json()["latency_ms"] == 5
        with make_client(standin, fake_time, max_guided_retries=4) as confluence, pytest.raises(RateLimited):
            confluence.space("DOCS")
        stats = requests.get(f"{control}/stats", timeout=5).json()
        assert stats["operations"] == {"getSpaces": 5} and stats["faults_injected"] == 5
        assert requests.post(f"{control}/knobs", json={"nonsense": 1}, timeout=5).status_code == 400
        assert (
            requests.post(f"{control}/knobs", json={"faults": [{"status": 500, "bogus": 1}]}, timeout=5).status_code == 400
        )
        requests.post(f"{control}/reset", json={}, timeout=5)
        requests.post(
            f"{control}/knobs",
            json={"faults": [{"status": 503, "retry_after": 2, "op": "getSpaces", "times": 2}]},
            timeout=5,
        )
        with make_client(standin, fake_time) as confluence:
            assert confluence.space("DEMO").key == "DEMO"
        assert fake_time.sleeps[-2:] == [2, 2]
        assert requests.get(f"{control}/knobs", timeout=5).json()["faults"] == []


def test_fraction_mode_is_a_share_of_calls(standin: StandinServer, fake_time: FakeTime) -> None:
    standin.set_knobs(fraction={"rate": 0.3, "status": 429, "retry_after": 1})
    with make_client(standin, fake_time, max_retries=10, deadline=1000) as confluence:
        for _ in range(100):
            confluence.page_by_title(str(standin.state.space_by_key["DOCS"]), "Documentation Home")
    injected = standin.stats()["faults_injected"]
    assert 20 <= injected <= 65  # about 30 % of ~140 calls, with a fixed seed


def test_reset_restores_the_seed(client: ConfluenceClient, standin: StandinServer) -> None:
    client.create_page(space_id=client.space("DOCS").id, title="Temporary", body="<p/>")
    assert standin.stats()["data"]["pages"] == 3
    standin.reset()
    assert standin.stats() == {
        "requests": 0,
        "operations": {},
        "faults_injected": 0,
        "in_flight_peak": 0,
        "data": {"spaces": 2, "pages": 2, "users": 300, "attachments": 0},
        "writes": {"page_versions": 0, "attachment_versions": 0, "attachments_deleted": 0},
    }


def test_seed_for_the_directory_benchmark_shape() -> None:
    with StandinServer(port=0, pages=10_000, spaces=5, users=2_000) as server:
        counts = server.stats()["data"]
        per_space = {server.state.spaces[s].key: len(ids) for s, ids in server.state.space_page_ids.items()}
    assert counts == {"spaces": 5, "pages": 10_000, "users": 2_000, "attachments": 0}
    assert per_space == {"DEMO": 2000, "DOCS": 2000, "ENG": 2000, "OPS": 2000, "SALES": 2000}


def test_command_line_runs_a_server(fake_time: FakeTime) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "confluence.standin",
            "--port",
            "0",
            "--users",
            "3",
            "--email",
            "cli@example.com",
            "--token",
            "t0k",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" at ", 1)[1].split("/wiki", 1)[0]
        assert "t0k" not in line
        confluence = ConfluenceClient(base_url=url, email="cli@example.com", api_token="t0k")
        report = confluence.check_connection()
        assert report.ok and report.email == "cli@example.com"
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_the_peak_of_requests_in_flight_is_counted(standin) -> None:
    standin.set_knobs(latency_ms=100)
    url = f"{standin.url}/wiki/api/v2/spaces"
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: requests.get(url, auth=(DEFAULT_EMAIL, DEFAULT_TOKEN), timeout=5), range(4)))
    assert standin.stats()["in_flight_peak"] == 4
    standin.reset()
    assert standin.stats()["in_flight_peak"] == 0

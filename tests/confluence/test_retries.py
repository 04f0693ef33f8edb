"""Retry schedules as Atlassian advises, with a fake clock: 429s, 5xx, dropped connections, deadlines, and the
ambiguous create that must never make a duplicate page."""

from __future__ import annotations

import socket

import pytest

from confluence.client import ConfluenceClient
from confluence.errors import RateLimited, TitleExists, Unavailable
from confluence.standin import StandinServer
from tests.confluence.conftest import FakeTime, make_client


def _pages_titled(standin: StandinServer, title: str) -> int:
    return sum(1 for page in standin.state.pages.values() if page.title == title and page.status == "current")


def test_429_then_success_waits_retry_after(
    client: ConfluenceClient, standin: StandinServer, fake_time: FakeTime
) -> None:
    standin.fail(429, retry_after=3, times=2, op="getSpaces")
    assert client.space("DOCS").key == "DOCS"
    assert fake_time.sleeps == [3, 3]
    assert client.requests_made == 3


def test_retry_after_is_a_minimum_even_with_low_jitter(standin: StandinServer, fake_time: FakeTime) -> None:
    with make_client(standin, fake_time, random=lambda: 0.0) as confluence:
        standin.fail(429, retry_after=7, op="getSpaces")
        confluence.space("DOCS")
    assert fake_time.sleeps == [7]


def test_429_without_retry_after_backs_off_exponentially(
    client: ConfluenceClient, standin: StandinServer, fake_time: FakeTime
) -> None:
    standin.fail(429, times=3, op="getSpaces")
    client.space("DOCS")
    assert fake_time.sleeps == [2, 4, 8]


def test_backoff_is_jittered_and_capped(standin: StandinServer, fake_time: FakeTime) -> None:
    with make_client(standin, fake_time, random=lambda: 1.0, max_retries=6, deadline=1000) as confluence:
        standin.fail(500, times=6, op="getSpaces")
        confluence.space("DOCS")
    assert fake_time.sleeps == pytest.approx([2.6, 5.2, 10.4, 20.8, 30, 30])


def test_429_forever_with_retry_after_gives_rate_limited_after_the_guided_retries(
    client: ConfluenceClient, standin: StandinServer, fake_time: FakeTime
) -> None:
    standin.set_knobs(fraction={"rate": 1.0, "status": 429, "retry_after": 1})
    with pytest.raises(RateLimited) as caught:
        client.space("DOCS")
    assert caught.value.status == 429 and caught.value.retry_after == 1
    # Confluence said when to come back, so the client keeps to its word for 12 retries (within the deadline).
    assert len(fake_time.sleeps) == 12 and client.requests_made == 13


def test_429_forever_without_retry_after_gives_up_after_four_retries(
    standin: StandinServer, fake_time: FakeTime
) -> None:
    standin.set_knobs(fraction={"rate": 1.0, "status": 429, "retry_after": None})
    with make_client(standin, fake_time, deadline=600) as confluence, pytest.raises(RateLimited):
        confluence.space("DOCS")
    assert fake_time.sleeps == [2, 4, 8, 16]


def test_429_forever_stops_at_the_deadline(standin: StandinServer, fake_time: FakeTime) -> None:
    standin.set_knobs(fraction={"rate": 1.0, "status": 429, "retry_after": None})
    with make_client(standin, fake_time, deadline=10) as confluence, pytest.raises(RateLimited):
        confluence.space("DOCS")
    # 2 + 4 fit in 10 s; the next wait (8 s) would not, so the client gives up instead of sleeping past it.
    assert fake_time.sleeps == [2, 4]
    assert fake_time.now - 1000.0 <= 10


def test_retry_after_beyond_the_deadline_is_not_waited(standin: StandinServer, fake_time: FakeTime) -> None:
    standin.fail(429, retry_after=120, op="getSpaces")
    with make_client(standin, fake_time, deadline=60) as confluence, pytest.raises(RateLimited) as caught:
        confluence.space("DOCS")
    assert caught.value.retry_after == 120 and fake_time.sleeps == []


def test_reads_retry_5xx_and_dropped_connections(
    client: ConfluenceClient, standin: StandinServer, fake_time: FakeTime
) -> None:
    standin.fail(500, op="getSpaces")
    standin.fail(drop=True, op="getSpaces")
    standin.fail(502, op="getSpaces")
    assert client.space("DOCS").key == "DOCS"
    assert len(fake_time.sleeps) == 3


def test_reads_give_up_as_unavailable(client: ConfluenceClient, standin: StandinServer) -> None:
    standin.fail(503, times=10, op="getSpaces")
    with pytest.raises(Unavailable) as caught:
        client.space("DOCS")
    assert caught.value.status == 503 and client.requests_made == 5


def test_update_is_not_resent_after_a_500(client: ConfluenceClient, standin: StandinServer) -> None:
    page = client.create_page(space_id=client.space("DOCS").id, title="Once", body="<p>a</p>")
    standin.fail(500, op="updatePage")
    with pytest.raises(Unavailable):
        client.update_page(page_id=page.id, title="Once", body="<p>b</p>", version=2)
    assert standin.stats()["operations"]["updatePage"] == 1


def test_update_is_resent_after_503_with_retry_after(
    client: ConfluenceClient, standin: StandinServer, fake_time: FakeTime
) -> None:
    page = client.create_page(space_id=client.space("DOCS").id, title="Later", body="<p>a</p>")
    standin.fail(503, retry_after=5, op="updatePage")
    assert client.update_page(page_id=page.id, title="Later", body="<p>b</p>", version=2).version == 2
    assert fake_time.sleeps == [5]


def test_connection_refused_is_unavailable(fake_time: FakeTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    confluence = ConfluenceClient(
        base_url=f"http://127.0.0.1:{port}",
        email="a",
        api_token="b",
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        random=lambda: 0.5,
        max_retries=2,
    )
    report = confluence.check_connection()
    assert not report.ok and isinstance(report.error, Unavailable) and "Could not connect to Confluence: Connection refused" in report.message
    with pytest.raises(Unavailable) as caught:
        confluence.space("DOCS")
    assert caught.value.status is None and confluence.requests_made == 6  # twice 1 + 2 retries: never sent, so safe


def test_read_timeout_is_unavailable(standin: StandinServer, fake_time: FakeTime) -> None:
    standin.set_knobs(latency_ms=400)
    with (
        make_client(standin, fake_time, read_timeout=0.1, max_retries=1) as confluence,
        pytest.raises(Unavailable) as caught,
    ):
        confluence.space("DOCS")
    assert "in time" in caught.value.message and confluence.requests_made == 2


# ---------------------------------------------------------------------- the ambiguous create


@pytest.mark.parametrize("drop", [False, True], ids=["500-after-create", "dropped-after-create"])
def test_create_that_failed_after_creating_makes_one_page(
    client: ConfluenceClient, standin: StandinServer, drop: bool
) -> None:
    docs = client.space("DOCS")
    standin.fail_after_create(status=500, drop=drop)
    page = client.create_page(space_id=docs.id, title="Exactly once", body="<p>one</p>")
    assert _pages_titled(standin, "Exactly once") == 1
    assert page.id == str(standin.state.titles[(int(docs.id), "Exactly once")])
    assert standin.stats()["operations"]["createPage"] == 1  # found by title, never resent


def test_create_that_failed_before_creating_is_resent_once(client: ConfluenceClient, standin: StandinServer) -> None:
    docs = client.space("DOCS")
    standin.fail(500, op="createPage")
    page = client.create_page(space_id=docs.id, title="Second try", body="<p>x</p>")
    assert _pages_titled(standin, "Second try") == 1 and page.version == 1
    operations = standin.stats()["operations"]
    assert operations["createPage"] == 2 and operations["getPages"] == 1


def test_create_after_429_is_resent_without_a_look_up(
    client: ConfluenceClient, standin: StandinServer, fake_time: FakeTime
) -> None:
    docs = client.space("DOCS")
    standin.fail(429, retry_after=1, op="createPage", times=2)
    client.create_page(space_id=docs.id, title="Rate limited", body="<p/>")
    assert standin.stats()["operations"].get("getPages", 0) == 0 and fake_time.sleeps == [1, 1]


def test_create_is_not_resent_when_the_write_is_still_unclear(client: ConfluenceClient, standin: StandinServer) -> None:
    docs = client.space("DOCS")
    standin.fail_after_create(status=500)
    standin.fail(500, op="getPages", times=10)
    with pytest.raises(Unavailable):
        client.create_page(space_id=docs.id, title="Unclear", body="<p/>")
    assert standin.stats()["operations"]["createPage"] == 1


def test_marker_decides_whose_page_it_is(client: ConfluenceClient, standin: StandinServer) -> None:
    docs = client.space("DOCS")
    standin.fail_after_create(status=503, drop=True)
    with pytest.raises(TitleExists) as caught:
        client.create_page(space_id=docs.id, title="Not mine", body="<p/>", marker=lambda page: False)
    assert caught.value.page_id == str(standin.state.titles[(int(docs.id), "Not mine")])
    standin.fail_after_create(status=500)
    page = client.create_page(space_id=docs.id, title="Mine", body="<p>x</p>", marker=lambda page: page.version == 1)
    assert page.title == "Mine" and _pages_titled(standin, "Mine") == 1


def test_create_after_503_with_retry_after_is_looked_up_first(
    client: ConfluenceClient, standin: StandinServer, fake_time: FakeTime
) -> None:
    docs = client.space("DOCS")
    standin.fail(503, retry_after=4, after=True, op="createPage")
    page = client.create_page(space_id=docs.id, title="Busy", body="<p/>")
    assert _pages_titled(standin, "Busy") == 1 and page.title == "Busy" and fake_time.sleeps == [4]
    assert standin.stats()["operations"]["createPage"] == 1

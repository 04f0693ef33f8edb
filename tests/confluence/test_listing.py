"""Pagination (v2 cursors, v1 start/limit), users, analytics and authentication against the stand-in."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from confluence.client import USER_AGENT, ConfluenceClient
from confluence.errors import AuthenticationFailed
from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN, StandinServer
from tests.confluence.conftest import FakeTime, make_client

PAGES_PER_SPACE = 500


@pytest.fixture(scope="module")
def seeded() -> Iterator[StandinServer]:
    # 1,000 pages (homepages included) over 2 spaces: exactly 500 per space, two full pages of 250 each.
    with StandinServer(port=0, pages=2 * PAGES_PER_SPACE, spaces=2, users=600) as server:
        yield server


@pytest.fixture
def seeded_client(seeded: StandinServer, fake_time: FakeTime) -> Iterator[ConfluenceClient]:
    with make_client(seeded, fake_time) as confluence:
        yield confluence


def test_iter_pages_at_the_exact_boundary_makes_the_fewest_requests(seeded_client: ConfluenceClient) -> None:
    space = seeded_client.space("DOCS")
    before = seeded_client.requests_made
    pages = list(seeded_client.iter_pages(space.id))
    assert len(pages) == PAGES_PER_SPACE == len({p.id for p in pages})
    assert seeded_client.requests_made - before == PAGES_PER_SPACE // 250  # no trailing empty page
    assert all(p.space_id == space.id and p.body is None for p in pages)
    assert [int(p.id) for p in pages] == sorted(int(p.id) for p in pages)


@pytest.mark.parametrize("limit", [1, 7, 249, 251])
def test_iter_pages_across_several_pages(seeded_client: ConfluenceClient, limit: int) -> None:
    space = seeded_client.space("DEMO")
    before = seeded_client.requests_made
    pages = list(seeded_client.iter_pages(space.id, limit=limit, with_body=True))
    assert len({p.id for p in pages}) == PAGES_PER_SPACE
    assert seeded_client.requests_made - before == math.ceil(PAGES_PER_SPACE / min(limit, 250))
    assert all(p.body for p in pages)


def test_next_links_are_relative_and_mirrored_in_the_link_header(seeded: StandinServer) -> None:
    space_id = seeded.state.space_by_key["DOCS"]
    auth = (DEFAULT_EMAIL, DEFAULT_TOKEN)
    first = requests.get(
        f"{seeded.url}/wiki/api/v2/pages", params={"space-id": space_id, "limit": 250}, auth=auth, timeout=5
    )
    next_link = first.json()["_links"]["next"]
    assert next_link.startswith("/wiki/api/v2/pages?") and "cursor=" in next_link
    assert first.headers["Link"] == f'<{next_link}>; rel="next"'
    last = requests.get(seeded.url + next_link, auth=auth, timeout=5)
    assert len(last.json()["results"]) == 250
    assert "next" not in last.json()["_links"] and "Link" not in last.headers


def test_iter_spaces(seeded_client: ConfluenceClient) -> None:
    assert [s.key for s in seeded_client.iter_spaces()] == ["DEMO", "DOCS"]
    assert [s.key for s in seeded_client.iter_spaces(keys=["DOCS"])] == ["DOCS"]
    assert list(seeded_client.iter_spaces(keys=[])) == []


def test_users_paged_then_bulk(seeded_client: ConfluenceClient, seeded: StandinServer) -> None:
    before = seeded_client.requests_made
    refs = list(seeded_client.iter_users(limit=100))
    assert len(refs) == 600 == len({r.account_id for r in refs})
    assert seeded_client.requests_made - before == 6
    hidden = [r for r in refs if r.email is None]
    assert hidden and len(hidden) < len(refs)
    before = seeded_client.requests_made
    users = seeded_client.users_bulk(r.account_id for r in refs)
    assert seeded_client.requests_made - before == 3  # 250 + 250 + 100
    assert {u.account_id for u in users} == {r.account_id for r in refs}
    by_id = {u.account_id: u for u in users}
    assert all(by_id[r.account_id].email is None for r in hidden)
    assert {u.account_type for u in users} == {"atlassian", "app"}
    assert "inactive" in {u.account_status for u in users}


def test_users_at_a_boundary(seeded_client: ConfluenceClient) -> None:
    before = seeded_client.requests_made
    assert len(list(seeded_client.iter_users(limit=300))) == 600
    assert seeded_client.requests_made - before == 2


def test_page_views_and_viewers(seeded_client: ConfluenceClient, seeded: StandinServer) -> None:
    record = next(p for p in seeded.state.pages.values() if p.views > 0)
    assert seeded_client.page_views(str(record.id)) == record.views
    assert seeded_client.page_viewers(str(record.id)) == record.viewers


def test_wrong_credentials(standin: StandinServer, fake_time: FakeTime) -> None:
    with make_client(standin, fake_time, api_token="wrong") as confluence:
        with pytest.raises(AuthenticationFailed) as caught:
            confluence.space("DOCS")
        assert caught.value.status == 401 and fake_time.sleeps == []
        report = confluence.check_connection()
    assert not report.ok and isinstance(report.error, AuthenticationFailed)
    assert "email and API token" in report.message


def test_no_credentials(standin: StandinServer, fake_time: FakeTime) -> None:
    with make_client(standin, fake_time, email=None, api_token=None) as confluence, pytest.raises(AuthenticationFailed):
        confluence.page("1")


def test_check_connection_names_the_account(client: ConfluenceClient, standin: StandinServer) -> None:
    report = client.check_connection()
    assert report.ok and report.email == DEFAULT_EMAIL and report.display_name == "Portal Service Account"
    assert standin.url in report.message


def test_bearer_token(fake_time: FakeTime) -> None:
    with StandinServer(port=0, bearer_tokens=["scoped-token"], users=5) as server:
        with make_client(server, fake_time, email=None, api_token=None, bearer_token="scoped-token") as confluence:
            assert confluence.space("DEMO").key == "DEMO"
        with make_client(server, fake_time, email=None, api_token=None, bearer_token="other") as confluence:
            assert not confluence.check_connection().ok


def test_cloud_id_goes_through_the_api_gateway() -> None:
    seen: list[requests.PreparedRequest] = []

    class Recorder(requests.adapters.BaseAdapter):
        def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
            seen.append(request)
            response = requests.Response()
            response.status_code = 200
            response._content = b'{"results": [{"id": "1", "key": "DOCS"}]}'
            return response

        def close(self) -> None:
            pass

    session = requests.Session()
    session.mount("https://", Recorder())
    confluence = ConfluenceClient(
        base_url="https://acme.atlassian.net/wiki", bearer_token="t", cloud_id="abc-123", session=session
    )
    assert confluence.space("DOCS").web_url == "https://acme.atlassian.net/wiki/spaces/DOCS"
    assert seen[0].url.startswith("https://api.atlassian.com/ex/confluence/abc-123/wiki/api/v2/spaces?")
    assert seen[0].headers["User-Agent"] == USER_AGENT and seen[0].headers["Authorization"] == "Bearer t"
    assert "t" not in repr(confluence).replace("atlassian", "").replace("ConfluenceClient", "").replace("https", "")


def test_concurrent_clients_are_latency_bound(standin: StandinServer) -> None:
    standin.set_knobs(latency_ms=50)
    clients = [ConfluenceClient(base_url=standin.url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN) for _ in range(16)]
    docs_id = str(standin.state.space_by_key["DOCS"])

    def work(confluence: ConfluenceClient) -> None:
        for _ in range(5):
            confluence.page_by_title(docs_id, "Documentation Home")

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    # 80 requests at 50 ms: 4 s if serialised, 0.25 s if perfectly parallel.
    assert elapsed < 1.5
    assert standin.stats()["operations"]["getPages"] == 80

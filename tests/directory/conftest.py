"""A stand-in Confluence of the size each test needs, an instance pointing at it, and a fake clock for retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from confluence.standin import StandinServer
from tests.factories import make_instance
from tests.fakes import FakeTime
from tokens.models import Instance


@pytest.fixture
def make_standin() -> Iterator[Callable[..., StandinServer]]:
    """Start a stand-in seeded as asked (``pages`` counts homepages, spread round-robin over the spaces)."""
    servers: list[StandinServer] = []

    def start(*, pages: int = 0, spaces: int = 2, users: int = 20) -> StandinServer:
        server = StandinServer(port=0, pages=pages, spaces=spaces, users=users).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def standin(make_standin: Callable[..., StandinServer]) -> StandinServer:
    """A small site: DEMO and DOCS with 30 pages each (homepages included), 20 users."""
    return make_standin(pages=60, spaces=2, users=20)


@pytest.fixture
def instance(db, standin: StandinServer, fake_sleep: FakeTime) -> Instance:
    return make_instance(url=standin.url)


class Lines(list[str]):
    """Progress lines a sync reported, for asserting on what the person running it saw."""

    def __call__(self, line: str) -> None:
        self.append(line)

    def text(self) -> str:
        return "\n".join(self)


@pytest.fixture
def lines() -> Lines:
    return Lines()


def data_writes(queries: CaptureQueriesContext) -> list[str]:
    """INSERT/UPDATE/DELETE statements on the directory's data tables (the sync run's own row excluded)."""
    writes = []
    for query in queries.captured_queries:
        sql = query["sql"].lstrip().upper()
        if sql.startswith(("INSERT", "UPDATE", "DELETE")) and "DIRECTORY_SYNCRUN" not in sql:
            writes.append(query["sql"])
    return writes


@pytest.fixture
def capture_queries() -> Callable[[], CaptureQueriesContext]:
    return lambda: CaptureQueriesContext(connection)

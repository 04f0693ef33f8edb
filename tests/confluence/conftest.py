"""Shared fixtures: a stand-in Confluence on a free loopback port, and a client that never really sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from confluence.client import ConfluenceClient
from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN, StandinServer
from tests.fakes import FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_client(server: StandinServer, fake_time: FakeTime, **overrides: object) -> ConfluenceClient:
    options: dict[str, object] = {
        "base_url": server.url,
        "email": DEFAULT_EMAIL,
        "api_token": DEFAULT_TOKEN,
        "sleep": fake_time.sleep,
        "clock": fake_time.clock,
        "random": lambda: 0.5,  # jitter x1.0: delays are exactly the documented schedule
        "read_timeout": 5,
    }
    options.update(overrides)
    return ConfluenceClient(**options)  # type: ignore[arg-type]


@pytest.fixture
def client(standin: StandinServer, fake_time: FakeTime) -> Iterator[ConfluenceClient]:
    with make_client(standin, fake_time) as confluence:
        yield confluence

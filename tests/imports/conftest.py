"""An instance pointing at a stand-in Confluence, a token for it, and an API client that carries the token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN, StandinServer
from tokens.models import Instance
from tokens.services import instance_create, license_set, token_issue


@pytest.fixture(scope="session")
def standin_session() -> Iterator[StandinServer]:
    with StandinServer(port=0) as server:
        yield server


@pytest.fixture
def standin(standin_session: StandinServer) -> StandinServer:
    standin_session.reset()
    return standin_session


def make_instance(name: str, url: str) -> Instance:
    instance = instance_create(name=name, base_url=url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN)
    today = timezone.localdate()
    license_set(
        instance=instance, reference=f"LIC-{name}", valid_from=today - dt.timedelta(days=1),
        valid_until=today + dt.timedelta(days=365), active=True, actor=None,
    )
    return instance


@pytest.fixture
def instance(db, standin, fake_sleep) -> Instance:
    return make_instance("acme", standin.url)


def bearer_client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def issued(instance):
    return token_issue(instance=instance, label="ci-docs", days=7, actor=None)


@pytest.fixture
def api(issued) -> APIClient:
    return bearer_client(issued.secret)


def post_import(api: APIClient, body: dict, **headers) -> object:
    return api.post("/api/v1/imports", body, format="json", **headers)


def page_titled(standin: StandinServer, space_key: str, title: str):
    state = standin.state
    page_id = state.titles.get((state.space_by_key[space_key], title))
    return state.pages[page_id] if page_id else None

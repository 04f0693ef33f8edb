"""An instance pointing at a stand-in Confluence, a token for it, and an API client that carries the token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from confluence.standin import StandinServer
from tests.factories import bearer_client, make_instance
from tokens.models import Instance
from tokens.services import token_issue


@pytest.fixture
def instance(db, standin, fake_sleep) -> Instance:
    return make_instance("acme", url=standin.url)


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

"""An instance on a stand-in Confluence, a token for it, and helpers to post bundles and run the queue."""

from __future__ import annotations

import io

import pytest
from rest_framework.test import APIClient

from tests.factories import bearer_client, make_instance
from tests.publications.archives import make_zip
from tokens.services import token_issue

SMALL = {"docs/README.md": b"# Docs\n\nWelcome.\n", "docs/guide.md": b"# Guide\n\nSee [the docs](README.md).\n"}


@pytest.fixture
def instance(db, standin):
    return make_instance("acme", url=standin.url)


@pytest.fixture
def issued(instance):
    return token_issue(instance=instance, label="ci-docs", days=7, actor=None)


@pytest.fixture
def api(issued) -> APIClient:
    return bearer_client(issued.secret)


def post_bundle(api: APIClient, bundle: bytes | None, *, name: str = "docs.zip", headers: dict | None = None, **fields):
    """POST /api/v1/publications as multipart, the way curl -F and the CLI send it."""
    data: dict = {"spaceId": "DOCS", **fields}
    if bundle is not None:
        upload = io.BytesIO(bundle)
        upload.name = name
        data["bundle"] = upload
    return api.post("/api/v1/publications", data, format="multipart", **(headers or {}))


def small_zip() -> bytes:
    return make_zip(SMALL)

"""Every response carries X-Request-ID: the client's own when sane, else a fresh one."""

import logging

import pytest


@pytest.mark.django_db
def test_a_sane_client_request_id_is_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="ci-run-42.step:3")
    assert response["X-Request-ID"] == "ci-run-42.step:3"


@pytest.mark.django_db
@pytest.mark.parametrize("supplied", ["", "has space", "x" * 129, "new\nline", "<script>"])
def test_an_unusable_client_request_id_is_replaced(client, supplied):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=supplied)
    assert response["X-Request-ID"] != supplied
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_each_request_gets_its_own_id(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert first != second


@pytest.mark.django_db
def test_one_log_line_per_request_with_its_id_and_without_the_query(client, caplog):
    caplog.set_level(logging.INFO, logger="portal.request")
    client.get("/healthz?token=s3cr3t", HTTP_X_REQUEST_ID="trace-1")
    lines = [r for r in caplog.records if r.name == "portal.request"]
    assert len(lines) == 1
    assert lines[0].request_id == "trace-1"
    assert lines[0].getMessage().startswith("GET /healthz 200")
    assert "s3cr3t" not in caplog.text

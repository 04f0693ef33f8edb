"""Retries: Retry-After on 429 and 503 is waited out within the deadline; network errors are retried with
jitter until the deadline; a wait that would pass the deadline gives up at once with the portal's reason."""

from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from django.utils import timezone

from imports.models import ImportRecord
from tests.client.conftest import docs_tree, run_cli, write


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_a_rate_limited_token_waits_for_retry_after_and_succeeds(portal, settings, tmp_path):
    settings.IMPORT_RATE_LIMIT_PER_MINUTE = 1
    first = write(tmp_path / "first.md", "# First\n")
    second = write(tmp_path / "second.md", "# Second\n")
    assert run_cli("page", str(first), "--space", "DOCS", "--title", "First").code == 0
    # The first import leaves the one-minute window in about two seconds, so the portal's Retry-After is short.
    ImportRecord.objects.update(received_at=timezone.now() - dt.timedelta(seconds=58))

    result = run_cli("page", str(second), "--space", "DOCS", "--title", "Second", "--retry-deadline", "30")

    assert result.code == 0, result.err
    assert result.out.startswith("created ")
    [retry] = [line for line in result.err_lines if line.startswith("retry:")]
    waited = float(re.fullmatch(r"retry: HTTP 429 rate_limited; retrying in (\d+\.\d) s", retry).group(1))
    assert 1 <= waited <= 3
    statuses = sorted(ImportRecord.objects.values_list("error_code", "status"))
    assert statuses == [("", "succeeded"), ("", "succeeded"), ("rate_limited", "rejected")]


@pytest.mark.django_db(transaction=True)
def test_a_retry_after_past_the_deadline_gives_up_at_once(portal, settings, tmp_path):
    settings.IMPORT_RATE_LIMIT_PER_MINUTE = 1
    page = write(tmp_path / "page.md", "# Page\n")
    assert run_cli("page", str(page), "--space", "DOCS", "--title", "One").code == 0

    result = run_cli("page", str(page), "--space", "DOCS", "--title", "Two", "--retry-deadline", "5")

    assert result.code == 1
    [line] = result.err_lines
    assert re.match(
        r"portal-publish: error: HTTP 429 rate_limited: at most 1 imports a minute per token "
        r"\(gave up: a retry in \d+ s would pass the 5 s retry deadline\)", line,
    ), line
    assert ImportRecord.objects.filter(error_code="rate_limited").count() == 1


def test_network_errors_are_retried_until_the_deadline(tmp_path, monkeypatch):
    port = unused_port()
    monkeypatch.setenv("PORTAL_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("PORTAL_TOKEN", "mdi_whatever")
    page = write(tmp_path / "page.md", "# Page\n")

    result = run_cli("page", str(page), "--space", "DOCS", "--title", "Page", "--retry-deadline", "1.5")

    assert result.code == 1
    retries = [line for line in result.err_lines if line.startswith("retry:")]
    assert len(retries) >= 2
    delays = [float(re.search(r"retrying in (\d+\.\d) s", line).group(1)) for line in retries]
    assert all(line.startswith(f"retry: connection refused (http://127.0.0.1:{port}/api/v1/imports)") for line in retries)
    assert all(d > 0 for d in delays)
    assert result.err_lines[-1].startswith(
        f"portal-publish: error: network_error: could not reach the portal at http://127.0.0.1:{port}: "
        "connection refused ("
    )
    assert "retry deadline 1.5 s" in result.err_lines[-1]


def test_a_503_on_the_publication_is_retried_with_the_same_idempotency_key(fake, tmp_path):
    docs_tree(tmp_path)
    fake.faults.append((503, "confluence_unavailable", 1))

    result = run_cli("docs", "--space", "DOCS", "--retry-deadline", "20")

    assert result.code == 0, result.err
    assert "retry: HTTP 503 confluence_unavailable; retrying in 1.0 s" in result.err_lines
    first, second = fake.posts()
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.headers["Idempotency-Key"].startswith("portal-publish-publication-")


def test_an_answer_that_is_not_the_portals_names_the_url(fake, tmp_path, monkeypatch):
    docs_tree(tmp_path)
    monkeypatch.setenv("PORTAL_URL", fake.url + "/not-the-portal")
    result = run_cli("docs", "--space", "DOCS")
    assert result.code == 2
    assert result.err_lines[-1] == (
        f"portal-publish: error: HTTP 404 http_404: Not Found from {fake.url}/not-the-portal/api/v1/publications, "
        "not an answer of the portal's API (check PORTAL_URL: it is the portal's address, e.g. https://portal.example.com)"
    )


def test_losing_the_portal_while_waiting_says_the_publication_goes_on(fake, tmp_path):
    docs_tree(tmp_path)
    fake.failing_gets = (503, "service_unavailable")

    result = run_cli("docs", "--space", "DOCS", "--retry-deadline", "1")

    [publication_id] = fake.publications
    assert result.code == 1
    assert result.err_lines[-2].startswith("portal-publish: error: HTTP 503 service_unavailable: unavailable (gave up")
    assert result.err_lines[-1] == (
        f"portal-publish: publication {publication_id} may still be running in the portal; "
        f"'portal-publish status {publication_id} --wait' follows it"
    )

"""Neither a token secret nor the Atlassian API token can be found in a database dump or in the logs."""

import io
import logging

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import ATLASSIAN_TOKEN, issue, make_instance
from tokens.services import instance_update, token_revoke

pytestmark = pytest.mark.django_db


def test_secrets_are_not_in_a_dump_or_the_logs(caplog, capsys, monkeypatch):
    caplog.set_level(logging.DEBUG)
    instance = make_instance("acme")
    rotated = "ATATT-rotated-service-account-token-9876543210"
    instance_update(instance=instance, api_token=rotated)
    secrets = [ATLASSIAN_TOKEN, rotated]

    issued = issue(instance, label="service")
    secrets.append(issued.secret)
    out = io.StringIO()
    call_command("issue_token", "--instance", "acme", "--label", "command", "--days", "3", stdout=out, stderr=io.StringIO())
    secrets.append(out.getvalue().strip())

    client = APIClient()
    for value in secrets[2:]:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
        assert client.get("/api/v1/token").status_code == 200
    token_revoke(token=issued.token, actor=None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert client.get("/api/v1/token").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret[:-2]}")
    assert client.get("/api/v1/token").status_code == 401

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    captured = capsys.readouterr()
    haystacks = {"dump": dump.getvalue(), "logs": caplog.text, "stdout": captured.out, "stderr": captured.err}
    assert "tokens.token" in haystacks["dump"] and caplog.text
    for value in secrets:
        for where, text in haystacks.items():
            assert value not in text, f"a secret is in the {where}"
            # Not even the truncated token that was refused.
            assert value[:-2] not in text, f"part of a secret is in the {where}"

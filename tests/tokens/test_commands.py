"""The token commands as an operator uses them: stdout carries results, every refusal is one line + exit 1."""

import datetime as dt
import io
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.factories import ATLASSIAN_TOKEN, issue, make_instance
from tokens import secret
from tokens.models import MAX_LIVE_TOKENS, Instance, Token, TokenEvent
from tokens.services import license_set

pytestmark = pytest.mark.django_db


def run(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def refused(*args) -> str:
    with pytest.raises(CommandError) as refusal:
        run(*args)
    message = str(refusal.value)
    assert "\n" not in message
    assert refusal.value.returncode == 1
    return message


def test_issue_token_prints_the_secret_alone_on_stdout(instance):
    out, err = run("issue_token", "--instance", "acme", "--label", "ci-main", "--days", "7", "--space", "DOCS", "--space", "eng")
    assert out.count("\n") == 1
    value = out.strip()
    assert secret.is_well_formed(value)
    token = Token.objects.get(label="ci-main")
    assert token.secret_hash == secret.hash_of(value)
    assert token.allowed_spaces == ["DOCS", "ENG"]
    assert value not in err and "not shown again" in err
    assert TokenEvent.objects.get(token=token).actor_name.endswith("(manage.py)")


def test_issue_token_refusals_are_one_line_each(db):
    make_instance("acme")
    assert "No instance is named 'nope'" in refused("issue_token", "--instance", "nope", "--label", "ci-main", "--days", "7")
    assert "3 to 50" in refused("issue_token", "--instance", "acme", "--label", "a b", "--days", "7")
    for days in ("0", "31", "seven", "2.5"):
        assert "1 to 30" in refused("issue_token", "--instance", "acme", "--label", "ci-main", "--days", days)
    run("issue_token", "--instance", "acme", "--label", "ci-main", "--days", "7")
    assert "already has a token labelled" in refused("issue_token", "--instance", "acme", "--label", "ci-main", "--days", "7")

    lapsed = make_instance("lapsed", licensed=False)
    today = timezone.localdate()
    license_set(instance=lapsed, reference="L", valid_from=today - dt.timedelta(days=9), valid_until=today - dt.timedelta(days=1), active=True, actor=None)
    assert "lapsed on" in refused("issue_token", "--instance", "lapsed", "--label", "ci-main", "--days", "7")


def test_issue_token_refuses_the_51st(instance):
    for i in range(MAX_LIVE_TOKENS):
        issue(instance, label=f"t{i:02d}")
    assert "50" in refused("issue_token", "--instance", "acme", "--label", "one-more", "--days", "1")


def test_a_refusal_goes_to_stderr_with_exit_status_1(tmp_path):
    # The real process, on a database of its own: nothing on stdout, one line on stderr, status 1.
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin",
           "DATABASE_URL": "sqlite:///" + str(tmp_path / "cli.sqlite3")}

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", *args], capture_output=True, text=True, env=env, check=False)

    assert manage("migrate", "--verbosity", "0").returncode == 0
    result = manage("issue_token", "--instance", "acme", "--label", "ci-main", "--days", "7")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == ["CommandError: No instance is named 'acme' (known: none yet)."]


def test_revoke_token_by_id_hint_or_secret_and_only_once(instance):
    by_id, by_hint, by_secret = (issue(instance, label=label) for label in ("by-id", "by-hint", "by-secret"))
    out, _ = run("revoke_token", str(by_id.token.pk))
    assert f"Revoked token {by_id.token.pk} 'by-id'" in out
    run("revoke_token", by_hint.token.hint.replace("…", "..."))
    run("revoke_token", by_secret.secret)
    assert Token.objects.filter(revoked_at__isnull=False).count() == 3
    assert "already revoked" in refused("revoke_token", str(by_id.token.pk))
    assert "No token matches" in refused("revoke_token", "999999")


def test_list_tokens_shows_state_and_never_secrets(instance):
    live = issue(instance, label="live-one")
    gone = issue(instance, label="gone-one")
    run("revoke_token", str(gone.token.pk))
    other = issue(make_instance("other"), label="elsewhere")
    out, _ = run("list_tokens", "--instance", "acme")
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["ID", "INSTANCE", "LABEL", "HINT", "STATE"]
    assert any("live-one" in line and " live " in line for line in lines)
    assert any("gone-one" in line and " revoked " in line for line in lines)
    assert "elsewhere" not in out
    for issued in (live, gone, other):
        assert issued.secret not in out and issued.token.secret_hash not in out
    assert "No instance is named" in refused("list_tokens", "--instance", "nope")


def test_create_instance_takes_the_atlassian_token_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("CONFLUENCE_API_TOKEN", ATLASSIAN_TOKEN)
    out, _ = run("create_instance", "acme", "--url", "https://acme.atlassian.net/wiki/", "--email", "bot@acme.example",
                 "--license-until", "2099-12-31", "--license-ref", "LIC-42")
    assert "Created instance acme (https://acme.atlassian.net)" in out
    assert ATLASSIAN_TOKEN not in out
    instance = Instance.objects.get(name="acme")
    assert instance.api_token() == ATLASSIAN_TOKEN
    assert ATLASSIAN_TOKEN not in instance.api_token_encrypted
    assert (instance.license.reference, instance.license.valid_until) == ("LIC-42", dt.date(2099, 12, 31))

    # Again: an update; without a token in the environment (and no terminal) the stored one is kept.
    monkeypatch.delenv("CONFLUENCE_API_TOKEN")
    out, _ = run("create_instance", "acme", "--url", "https://acme.atlassian.net", "--license-until", "2100-01-31")
    assert "Updated instance acme" in out
    instance.refresh_from_db()
    assert instance.api_token() == ATLASSIAN_TOKEN
    assert instance.license.valid_until == dt.date(2100, 1, 31)
    assert instance.license.changes.count() == 2


def test_create_instance_refusals(db, monkeypatch):
    monkeypatch.delenv("CONFLUENCE_API_TOKEN", raising=False)
    args = ["create_instance", "acme", "--url", "https://acme.atlassian.net", "--email", "bot@acme.example", "--license-until"]
    assert "CONFLUENCE_API_TOKEN" in refused(*args, "2099-12-31")
    monkeypatch.setenv("CONFLUENCE_API_TOKEN", ATLASSIAN_TOKEN)
    assert "YYYY-MM-DD" in refused(*args, "31.12.2099")
    assert "https://" in refused("create_instance", "acme", "--url", "http://acme.atlassian.net", "--email", "a@b.c", "--license-until", "2099-12-31")
    assert "end before it starts" in refused(*args, "2020-01-01", "--license-from", "2021-01-01")
    assert not Instance.objects.exists()
    # http:// is fine on loopback (the Confluence stand-in).
    run("create_instance", "standin", "--url", "http://127.0.0.1:8765", "--email", "demo@example.com", "--license-until", "2099-12-31")

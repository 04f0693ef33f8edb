"""``manage.py sync_confluence``: progress and a summary on stdout, problems on stderr, exit 1 on a failed run."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from directory.models import SyncRun

from .conftest import make_instance


def run_command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sync_confluence", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_shows_progress_and_a_summary(instance, standin):
    out, err = run_command("acme")

    assert err == ""
    assert "spaces: listing every space the account can see" in out
    assert "spaces: 2 to read (DEMO, DOCS)" in out
    assert "pages of DEMO (Demo): 30 so far" in out
    assert "users: 20 so far" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("Sync of acme succeeded in ")
    assert "2 spaces (0 skipped), 60 pages (60 new, 0 changed, 0 gone), 20 users (20 new, 0 changed)" in last
    assert SyncRun.objects.get().status == SyncRun.Status.SUCCEEDED


def test_the_second_run_estimates_from_the_first(db, make_standin, fake_sleep):
    standin = make_standin(pages=600, spaces=2, users=5)  # 300 in DOCS: two batches
    make_instance(url=standin.url)
    run_command("acme", "--space", "DOCS")

    out, _ = run_command("acme", "--space", "DOCS")

    assert "pages of DOCS (Documentation): 250 so far" in out
    assert "left of ~300 (as many as the last sync found)" in out
    assert "0 rows written" in out


def test_problems_go_to_stderr_and_a_partial_run_exits_0(instance, standin):
    standin.fail(403, op="searchUser")

    out, err = run_command("acme")

    assert "Sync of acme finished with problems" in out
    assert err.startswith("error: Users could not be listed (403): the service account needs the Confluence Administrator role")


def test_refused_credentials_exit_1_with_the_reason(db, standin, fake_sleep):
    make_instance(url=standin.url, api_token="wrong")

    with pytest.raises(CommandError) as failure:
        run_command("acme")

    assert str(failure.value).startswith(
        "The directory sync of acme failed: Confluence refused the credentials (401): check the instance's "
        "service account email and API token"
    )
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


def test_an_unknown_instance_exits_1_naming_the_known_ones(instance):
    with pytest.raises(CommandError, match=r"No instance named 'nope' \(instances: acme\)\."):
        run_command("nope")

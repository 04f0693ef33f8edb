"""What a publication run leaves of the worker process as it found it."""

from __future__ import annotations

import sys

import pytest

from publications import publishing
from tests.publications.conftest import post_bundle, small_zip
from tests.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_interpreter_switch_interval_is_lowered_for_the_run_only(api, standin, monkeypatch) -> None:
    before = sys.getswitchinterval()
    during: list[float] = []
    execute = publishing._Run.execute

    def observed(run) -> None:
        during.append(sys.getswitchinterval())
        execute(run)

    monkeypatch.setattr(publishing._Run, "execute", observed)
    response = post_bundle(api, small_zip(), sourceRef="docs@1")
    assert response.status_code == 202, response.content
    run_queued_tasks()
    assert api.get(response["Location"]).json()["state"] == "succeeded"
    assert during == [min(before, publishing.SWITCH_INTERVAL)]
    assert sys.getswitchinterval() == before

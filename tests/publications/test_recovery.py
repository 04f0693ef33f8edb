"""The sweep that notices dead workers: through its services, run as the task it is by the worker command, and the
schema the API documents."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from publications.models import Publication, PublicationBundle, PublicationPage
from publications.services import publications_resume_stale, publications_sweep
from tests.publications.conftest import post_bundle, small_zip
from tests.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db
SWEEP = "publications.tasks.publications_sweep_task"


def waiting_sweeps():
    return DBTaskResult.objects.filter(task_path=SWEEP, status=TaskResultStatus.READY)


def running(api, *, attempts: int, silent_for: int) -> Publication:
    publication = Publication.objects.get(pk=post_bundle(api, small_zip()).json()["publicationId"])
    Publication.objects.filter(pk=publication.pk).update(
        state="running", attempts=attempts, started_at=timezone.now() - dt.timedelta(seconds=silent_for + 5),
        heartbeat_at=timezone.now() - dt.timedelta(seconds=silent_for), total=2, done=1,
    )
    PublicationPage.objects.create(publication=publication, order=0, key="docs/README.md", path="docs/README.md",
                                   title="Docs", status="created", page_id="1", finished_at=timezone.now())
    PublicationPage.objects.create(publication=publication, order=1, key="docs/guide.md", path="docs/guide.md",
                                   title="Guide")
    return publication


def test_a_silent_running_publication_is_queued_again(api, settings):
    publication = running(api, attempts=1, silent_for=settings.PUBLICATION_STALE_AFTER_SECONDS + 1)
    fresh = running(api, attempts=1, silent_for=1)

    assert publications_resume_stale() == (1, 0)

    publication.refresh_from_db()
    assert publication.state == "queued" and publication.heartbeat_at is None
    assert DBTaskResult.objects.filter(args_kwargs__args=[str(publication.pk)]).count() == 2  # the first, and again
    fresh.refresh_from_db()
    assert fresh.state == "running"
    assert publications_resume_stale() == (0, 0)  # nothing twice


def test_after_the_last_attempt_it_fails_with_the_pages_done_so_far(api, settings):
    publication = running(api, attempts=settings.PUBLICATION_MAX_ATTEMPTS, silent_for=10_000)

    assert publications_resume_stale() == (0, 1)

    shown = api.get(f"/api/v1/publications/{publication.pk}").json()
    assert shown["state"] == "failed"
    assert shown["error"]["code"] == "worker_lost"
    assert "1 page(s) were done" in shown["error"]["message"]
    assert [p["status"] for p in shown["pages"]] == ["created", "pending"]
    assert not PublicationBundle.objects.filter(publication=publication).exists()


def test_the_schema_documents_the_publication_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    create = schema["paths"]["/api/v1/publications"]["post"]
    assert "multipart/form-data" in create["requestBody"]["content"]
    assert set(create["responses"]) >= {"202", "400", "401", "403", "404", "409", "413", "429"}
    assert "get" in schema["paths"]["/api/v1/publications"]
    assert "/api/v1/publications/{publication_id}" in schema["paths"]


@pytest.mark.django_db(transaction=True)  # the worker runs in autocommit, as in production
def test_the_sweep_task_run_by_a_worker_resumes_a_publication_whose_worker_died(api, settings, standin):
    publication = running(api, attempts=1, silent_for=settings.PUBLICATION_STALE_AFTER_SECONDS + 1)
    # Publishing queued the sweep a quarter of the stale age ahead; that time has come.
    assert waiting_sweeps().count() == 1
    waiting_sweeps().update(run_after=timezone.now())

    run_queued_tasks()  # `run_worker --batch`: the sweep, then the publication it queued again

    shown = api.get(f"/api/v1/publications/{publication.pk}").json()
    assert shown["state"] in ("succeeded", "partial") and shown["progress"] == {"done": 2, "total": 2}
    assert Publication.objects.get(pk=publication.pk).attempts == 2
    assert DBTaskResult.objects.filter(task_path=SWEEP, status=TaskResultStatus.SUCCESSFUL).count() == 1


def test_the_sweep_comes_back_while_publications_are_in_flight_and_stops_after(api, settings):
    publication = running(api, attempts=1, silent_for=1)
    waiting_sweeps().delete()  # the one queued with the publication is this round

    publications_sweep()
    (waiting,) = waiting_sweeps()
    every = dt.timedelta(seconds=settings.PUBLICATION_STALE_AFTER_SECONDS / 4)
    assert every - dt.timedelta(seconds=5) < waiting.run_after - timezone.now() <= every
    publications_sweep()  # another round (or another worker's) while one waits: still one
    assert waiting_sweeps().count() == 1

    Publication.objects.filter(pk=publication.pk).update(state="succeeded", finished_at=timezone.now())
    waiting_sweeps().delete()
    publications_sweep()
    assert not waiting_sweeps().exists()  # nothing left to watch: the chain ends

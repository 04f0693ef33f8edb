"""Publications run by real worker processes: two at once on one instance, a 429 storm, and a worker killed mid-run.

Each worker is `manage.py run_worker` in its own process on the test database; the test talks to the portal through
its API and looks at the stand-in Confluence, as a client and an operator would.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest

from publications.models import Publication, PublicationPage
from tests.publications.archives import make_zip
from tests.publications.conftest import post_bundle
from tests.publications.trees import docs_tree
from tests.publications.workers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def finished(*ids: str) -> bool:
    return Publication.objects.filter(pk__in=ids, state__in=["succeeded", "partial", "failed"]).count() == len(ids)


def renamed(files: dict[str, bytes], prefix: str) -> dict[str, bytes]:
    """The same tree with every title made distinct, for a second tree beside the first in one space."""
    out = {}
    for path, data in files.items():
        if path.endswith(".md"):
            text = data.decode()
            text = text.replace("# ", f"# {prefix} ", 1) if "# " in text else text
            text = text.replace("title: ", f"title: {prefix} ")
            out[path.replace("tutorials/", "ops-tutorials/")] = text.encode()  # a folder page's title is its name
        else:
            out[path.replace("tutorials/", "ops-tutorials/")] = data
    return out


def current_titles(standin) -> Counter:
    docs = standin.state.space_by_key["DOCS"]
    return Counter(p.title for p in standin.state.pages.values() if p.space_id == docs and p.status == "current")


@pytest.mark.postgres
def test_two_workers_publish_two_bundles_to_one_instance_with_the_bound_held(api, standin, start_worker):
    second_tree = renamed(docs_tree(), "Ops")
    first = post_bundle(api, make_zip(docs_tree()), sourceRef="handbook@1").json()["publicationId"]
    second = post_bundle(api, make_zip(second_tree), sourceRef="ops@1").json()["publicationId"]
    standin.reset(data=False)  # counts from here: the workers' requests only
    standin.set_knobs(latency_ms=40)  # long enough for the workers' requests to overlap

    workers = [start_worker("w1"), start_worker("w2")]
    wait_for(lambda: finished(first, second), seconds=180, what="both publications", workers=workers)

    states = dict(Publication.objects.filter(pk__in=[first, second]).values_list("pk", "state"))
    assert set(states.values()) == {"succeeded"}, states
    assert len({p.worker for p in Publication.objects.all()}) == 2  # one publication on each worker
    titles = current_titles(standin)
    assert all(count == 1 for count in titles.values()), [t for t, c in titles.items() if c > 1]
    assert PublicationPage.objects.filter(status="created").count() == 48
    # Six page threads in all, but never more than three requests to the instance at once.
    assert standin.stats()["in_flight_peak"] == 3


def test_a_429_storm_is_waited_out_with_no_page_lost(api, standin, start_worker):
    files = {f"storm/page-{n:02d}.md": f"# Storm {n}\n\n![i](img/{n}.png)\n".encode() for n in range(12)}
    files.update({f"storm/img/{n}.png": f"PNG {n}".encode() for n in range(12)})
    publication = post_bundle(api, make_zip(files), sourceRef="storm@1").json()["publicationId"]
    standin.set_knobs(fraction={"rate": 0.3, "status": 429, "retry_after": 1})

    workers = [start_worker("storm-1")]
    wait_for(lambda: finished(publication), seconds=240, what="the publication", workers=workers)

    result = api.get(f"/api/v1/publications/{publication}").json()
    assert result["state"] == "succeeded", [p for p in result["pages"] if p["status"] != "created"]
    assert {p["status"] for p in result["pages"]} == {"created"} and len(result["pages"]) == 13
    assert standin.stats()["faults_injected"] >= 10
    titles = current_titles(standin)
    assert all(titles[f"Storm {n}"] == 1 for n in range(12))
    assert standin.state.counts()["attachments"] == 12


def test_a_worker_killed_mid_publication_is_resumed_elsewhere_without_duplicate_pages(
    api, standin, start_worker, settings
):
    # Every process of one deployment has the same settings: this one queues the sweep, the workers run it.
    settings.PUBLICATION_STALE_AFTER_SECONDS = 4
    publication = post_bundle(api, make_zip(docs_tree()), sourceRef="handbook@1").json()["publicationId"]
    standin.set_knobs(latency_ms=150)
    doomed = start_worker("doomed", PUBLICATION_STALE_AFTER_SECONDS="4")

    wait_for(lambda: Publication.objects.get(pk=publication).done >= 4, seconds=120, what="a few pages", workers=[doomed])
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    done_before = Publication.objects.get(pk=publication).done
    assert Publication.objects.get(pk=publication).state == "running"

    standin.set_knobs(latency_ms=0)
    rescuer = start_worker("rescuer", PUBLICATION_STALE_AFTER_SECONDS="4")
    wait_for(lambda: finished(publication), seconds=120, what="the resumed publication", workers=[rescuer])

    resumed = Publication.objects.get(pk=publication)
    assert resumed.state == "succeeded" and resumed.attempts == 2
    assert resumed.done == resumed.total == 24 and done_before < 24
    result = api.get(f"/api/v1/publications/{publication}").json()
    assert {p["status"] for p in result["pages"]} == {"created"}
    titles = current_titles(standin)
    assert all(count == 1 for count in titles.values()), [t for t, c in titles.items() if c > 1]
    assert len({p["pageId"] for p in result["pages"]}) == 24

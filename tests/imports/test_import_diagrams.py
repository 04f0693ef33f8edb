"""Diagrams reach Confluence with their images: with a renderer configured (the fake mmdc and PlantUML scripts of
tests/converter/renderers), an import and a publication upload the rendered images as attachments of the page,
unchanged while the diagram is, replaced (and the old image removed) when it changes. Over real HTTP against the
stand-in."""

from __future__ import annotations

import sys

import pytest

from publications.models import Publication
from tests.converter.test_diagrams import MMDC, PLANTUML, PNG
from tests.imports.conftest import page_titled, post_import
from tests.imports.test_import_attachments import post_form
from tests.publications.archives import make_zip
from tests.publications.conftest import post_bundle
from tests.tasks import run_queued_tasks

FLOW = "graph TD\n  A[Start] --> B{Ok?}"
DOC = f"# Flow\n\n```mermaid\n{FLOW}\n```\n\n```plantuml\nAlice -> Bob: hi\n```\n"


@pytest.fixture
def renderers(settings):
    settings.MERMAID_CLI = " ".join(MMDC)
    settings.PLANTUML_COMMAND = " ".join(PLANTUML)
    assert sys.executable in settings.MERMAID_CLI


def images(standin, title: str) -> dict[str, bytes]:
    page = page_titled(standin, "DOCS", title)
    return {a.title: a.data for a in page.attachments.values() if a.status == "current"}


@pytest.mark.django_db
def test_an_import_uploads_the_rendered_diagrams_and_only_again_when_they_change(api, standin, renderers):
    body = {"spaceId": "DOCS", "pageTitle": "Flow", "content": DOC, "overwrite": True}
    first = post_import(api, body)
    assert first.status_code == 201, first.json()
    assert first.json()["attachments"] == {"uploaded": 2, "unchanged": 0, "removed": 0}
    found = images(standin, "Flow")
    mermaid = next(name for name in found if name.startswith("mermaid-"))
    plantuml = next(name for name in found if name.startswith("plantuml-"))
    assert found[mermaid] == PNG + b"mermaid:" + FLOW.encode()
    assert found[plantuml].startswith(PNG + b"plantuml:")
    page_body = page_titled(standin, "DOCS", "Flow").body
    assert f'<ri:attachment ri:filename="{mermaid}"' in page_body and "<ac:image" in page_body

    standin.state.reset_writes()
    again = post_import(api, body).json()
    assert (again["status"], again["attachments"]) == ("unchanged", {"uploaded": 0, "unchanged": 2, "removed": 0})
    assert standin.stats()["writes"] == {"page_versions": 0, "attachment_versions": 0, "attachments_deleted": 0}

    # Another diagram: its image is new, the old one (the portal's, no longer shown) goes.
    changed = post_import(api, {**body, "content": DOC.replace("B{Ok?}", "C[Done]")}).json()
    assert (changed["status"], changed["attachments"]) == ("updated", {"uploaded": 1, "unchanged": 1, "removed": 1})
    assert mermaid not in images(standin, "Flow") and len(images(standin, "Flow")) == 2


@pytest.mark.django_db
def test_a_multipart_import_uploads_its_files_and_its_diagrams(api, standin, renderers):
    fields = {"spaceId": "DOCS", "pageTitle": "Both", "content": DOC + "\n![shot](shot.png)\n"}
    response = post_form(api, fields, [("shot.png", PNG + b"shot")])
    assert response.status_code == 201, response.json()
    assert response.json()["attachments"] == {"uploaded": 3, "unchanged": 0, "removed": 0}
    assert "shot.png" in images(standin, "Both")


@pytest.mark.django_db
def test_a_refused_import_renders_nothing_into_confluence(api, standin, renderers):
    # A page of that title exists and overwrite was not asked for: no page write, no image uploaded.
    assert post_import(api, {"spaceId": "DOCS", "pageTitle": "Taken", "content": "hand written"}).status_code == 201
    standin.state.reset_writes()
    refused = post_import(api, {"spaceId": "DOCS", "pageTitle": "Taken", "content": DOC})
    assert refused.status_code == 409
    assert images(standin, "Taken") == {}
    assert standin.stats()["writes"]["attachment_versions"] == 0


@pytest.mark.django_db
def test_without_a_renderer_an_import_uploads_nothing_and_shows_the_source(api, standin):
    response = post_import(api, {"spaceId": "DOCS", "pageTitle": "Plain", "content": DOC})
    assert response.json()["attachments"] == {"uploaded": 0, "unchanged": 0, "removed": 0}
    assert images(standin, "Plain") == {}
    assert 'ac:name="code"' in page_titled(standin, "DOCS", "Plain").body


@pytest.mark.django_db(transaction=True)
def test_a_publication_uploads_rendered_diagrams_counted_and_unchanged_on_a_second_run(api, standin, renderers):
    bundle = make_zip({"README.md": DOC.encode(), "img/logo.png": PNG + b"logo",
                       "guide.md": b"# Guide\n\n![logo](img/logo.png)\n\n```mermaid\ngraph LR\n```\n"})

    def publish() -> dict:
        response = post_bundle(api, bundle, sourceRef="diagrams@1")
        assert response.status_code == 202, response.content
        run_queued_tasks()
        return {page["path"]: page for page in api.get(response["Location"]).json()["pages"]}

    pages = publish()
    assert pages["README.md"]["attachments"] == {"uploaded": 2, "unchanged": 0, "removed": 0}
    assert pages["guide.md"]["attachments"] == {"uploaded": 2, "unchanged": 0, "removed": 0}
    assert Publication.objects.get().state == "succeeded"
    guide = images(standin, "Guide")
    assert "logo.png" in guide and any(name.startswith("mermaid-") for name in guide)
    assert any(name.startswith("plantuml-") for name in images(standin, "Flow"))

    standin.state.reset_writes()
    pages = publish()
    assert {path: page["attachments"] for path, page in pages.items()} == {
        "README.md": {"uploaded": 0, "unchanged": 2, "removed": 0},
        "guide.md": {"uploaded": 0, "unchanged": 2, "removed": 0},
    }
    assert standin.stats()["writes"] == {"page_versions": 0, "attachment_versions": 0, "attachments_deleted": 0}

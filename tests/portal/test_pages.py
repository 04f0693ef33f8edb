"""The site's own pages: home, admin login, OpenAPI schema and its browsable docs."""

import pytest
import yaml


@pytest.mark.django_db
def test_home_page_says_what_the_portal_is_and_links_onwards(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Publish Markdown into Confluence Cloud" in html
    for link in ('href="/admin/"', 'href="/api/docs/"', 'href="/healthz"'):
        assert link in html


@pytest.mark.django_db
def test_admin_login_carries_the_sites_name(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert "Markdown → Confluence portal" in response.content.decode()


@pytest.mark.django_db
def test_schema_is_an_openapi_3_document(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = response.json() if "json" in response["Content-Type"] else yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]


@pytest.mark.django_db
def test_docs_page_loads_nothing_from_the_internet(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert "cdn." not in html and "https://" not in html.replace("https://swagger.io", "")

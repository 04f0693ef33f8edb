"""Page attachments over real HTTP against the stand-in: upload (create, then update by file name), list with
pagination, download, delete; the shared rate-limit throttle; and how the stand-in's page view shows the files."""

from __future__ import annotations

import pytest
import requests

from confluence.client import ConfluenceClient
from confluence.errors import AuthenticationFailed, NotFound, RateLimited
from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN, StandinServer
from tests.confluence.conftest import FakeTime, make_client

AUTH = (DEFAULT_EMAIL, DEFAULT_TOKEN)


@pytest.fixture
def page_id(client: ConfluenceClient, standin: StandinServer) -> str:
    docs = client.space("DOCS")
    page = client.create_page(space_id=docs.id, title="With files", body="<p>files</p>", parent_id=docs.homepage_id)
    standin.reset(data=False)  # count from here
    return page.id


def test_upload_creates_then_updates_by_file_name(
    client: ConfluenceClient, standin: StandinServer, page_id: str
) -> None:
    first = client.upload_attachment(
        page_id, filename="diagram.png", data=b"\x89PNG one", media_type="image/png", comment="sha256:aa"
    )
    assert first.id.startswith("att") and first.title == "diagram.png"
    assert (first.media_type, first.file_size, first.comment, first.version) == ("image/png", 8, "sha256:aa", 1)
    second = client.upload_attachment(
        page_id, filename="diagram.png", data=b"\x89PNG second", media_type="image/png", comment="sha256:bb"
    )
    assert second.id == first.id and second.version == 2 and second.comment == "sha256:bb"
    listed = client.attachments(page_id)
    assert listed == [second]
    assert client.attachment_data(page_id, first.id) == b"\x89PNG second"
    stats = standin.stats()
    assert stats["writes"] == {"page_versions": 0, "attachment_versions": 2, "attachments_deleted": 0}
    assert client.page(page_id).version == 1  # attaching a file makes no page version


def test_listing_follows_the_cursor(client: ConfluenceClient, standin: StandinServer, page_id: str) -> None:
    # Several files per request, as Confluence allows, to keep the setup quick: 260 files need two listing pages.
    for start in range(0, 260, 20):
        files = [("file", (f"f{n:03d}.txt", f"file {n}".encode(), "text/plain")) for n in range(start, start + 20)]
        response = requests.put(
            f"{standin.url}/wiki/rest/api/content/{page_id}/child/attachment",
            files=files,
            data={"minorEdit": "true"},
            headers={"X-Atlassian-Token": "no-check"},
            auth=AUTH,
            timeout=5,
        )
        assert response.status_code == 200 and response.json()["size"] == 20
    standin.reset(data=False)
    titles = [a.title for a in client.attachments(page_id)]
    assert titles == [f"f{n:03d}.txt" for n in range(260)]
    assert standin.stats()["operations"] == {"getPageAttachments": 2}


def test_delete_moves_to_trash_and_the_name_is_free_again(
    client: ConfluenceClient, standin: StandinServer, page_id: str
) -> None:
    old = client.upload_attachment(page_id, filename="a.pdf", data=b"%PDF old", media_type="application/pdf")
    client.delete_attachment(old.id)
    assert client.attachments(page_id) == []
    with pytest.raises(NotFound):
        client.attachment_data(page_id, old.id)
    with pytest.raises(NotFound):
        client.delete_attachment(old.id)
    new = client.upload_attachment(page_id, filename="a.pdf", data=b"%PDF new", media_type="application/pdf")
    assert new.id != old.id and new.version == 1
    assert standin.stats()["writes"]["attachments_deleted"] == 1
    trashed = requests.get(
        f"{standin.url}/wiki/api/v2/pages/{page_id}/attachments", params={"status": "trashed"}, auth=AUTH, timeout=5
    )
    assert [a["id"] for a in trashed.json()["results"]] == [old.id]


def test_confluence_refusals(client: ConfluenceClient, standin: StandinServer, page_id: str) -> None:
    url = f"{standin.url}/wiki/rest/api/content/{page_id}/child/attachment"
    upload = {"files": {"file": ("x.txt", b"x", "text/plain")}, "data": {"minorEdit": "true"}, "auth": AUTH}
    no_token = requests.put(url, timeout=5, **upload)  # type: ignore[arg-type]
    assert no_token.status_code == 403 and no_token.json()["message"] == "XSRF check failed"
    headers = {"X-Atlassian-Token": "no-check"}
    assert requests.post(url, headers=headers, timeout=5, **upload).status_code == 200  # type: ignore[arg-type]
    again = requests.post(url, headers=headers, timeout=5, **upload)  # type: ignore[arg-type]
    assert again.status_code == 400 and again.json()["message"].endswith("existing attachment: x.txt")
    no_minor = requests.put(url, headers=headers, files={"file": ("y.txt", b"y")}, auth=AUTH, timeout=5)
    assert no_minor.status_code == 400
    as_json = requests.put(url, headers=headers, json={"file": "y"}, auth=AUTH, timeout=5)
    assert as_json.status_code == 400
    with pytest.raises(NotFound):
        client.upload_attachment("999999", filename="z.txt", data=b"z", media_type="text/plain")
    assert standin.stats()["writes"]["attachment_versions"] == 1


def test_octet_stream_gets_a_media_type_from_the_file_name(client: ConfluenceClient, page_id: str) -> None:
    found = client.upload_attachment(
        page_id, filename="photo.jpeg", data=b"\xff\xd8", media_type="application/octet-stream"
    )
    assert found.media_type == "image/jpeg"


def test_an_upload_answered_429_is_sent_again_once_done(
    client: ConfluenceClient, standin: StandinServer, fake_time: FakeTime, page_id: str
) -> None:
    standin.fail(429, retry_after=2, op="createOrUpdateAttachments")
    client.upload_attachment(page_id, filename="a.txt", data=b"a", media_type="text/plain")
    assert fake_time.sleeps == [2]
    assert standin.stats()["writes"]["attachment_versions"] == 1


def test_an_upload_that_failed_with_500_is_not_sent_again(
    client: ConfluenceClient, standin: StandinServer, page_id: str
) -> None:
    standin.fail(500, op="createOrUpdateAttachments")
    with pytest.raises(Exception, match="500"):
        client.upload_attachment(page_id, filename="a.txt", data=b"a", media_type="text/plain")
    assert standin.stats()["operations"] == {"createOrUpdateAttachments": 1}


def test_the_download_does_not_carry_the_credential_to_another_host(
    standin: StandinServer, fake_time: FakeTime, page_id: str
) -> None:
    seen: list[tuple[str, bool]] = []
    session = requests.Session()
    session.hooks["response"].append(
        lambda response, *a, **k: seen.append((response.request.url, "Authorization" in response.request.headers))
    )
    # The stand-in redirects to its own 127.0.0.1 address; a client of "localhost" sees another host, as a Cloud
    # client sees Atlassian's media service.
    other_host = standin.url.replace("127.0.0.1", "localhost")
    with make_client(standin, fake_time, base_url=other_host, session=session) as confluence:
        found = confluence.upload_attachment(page_id, filename="a.txt", data=b"abc", media_type="text/plain")
        assert confluence.attachment_data(page_id, found.id) == b"abc"
    # The API's download operation with the credential, the file it redirects to without.
    assert [with_auth for url, with_auth in seen if "download" in url] == [True, False]


def test_an_unauthenticated_client_is_refused(standin: StandinServer, fake_time: FakeTime, page_id: str) -> None:
    with make_client(standin, fake_time, api_token="wrong") as confluence, pytest.raises(AuthenticationFailed):
        confluence.upload_attachment(page_id, filename="a.txt", data=b"a", media_type="text/plain")


# ---------------------------------------------------------------------- the shared throttle


class SharedBackoff:
    """What a cross-process throttle does, on the fake clock: one "until" that every sharer waits for."""

    def __init__(self, fake_time: FakeTime) -> None:
        self.fake_time = fake_time
        self.until = 0.0
        self.waits = 0
        self.backoffs: list[float] = []

    def wait(self) -> None:
        self.waits += 1
        if self.until > self.fake_time.now:
            self.fake_time.sleep(self.until - self.fake_time.now)

    def backoff(self, seconds: float) -> None:
        self.backoffs.append(seconds)
        self.until = max(self.until, self.fake_time.now + seconds)


def test_a_429_starts_a_backoff_every_sharer_waits_for(standin: StandinServer, fake_time: FakeTime) -> None:
    shared = SharedBackoff(fake_time)
    first = make_client(standin, fake_time, throttle=shared)
    second = make_client(standin, fake_time, throttle=shared)
    standin.fail(429, retry_after=3, op="getSpaces")
    assert first.space("DOCS").key == "DOCS"
    assert shared.backoffs == [3] and fake_time.sleeps == [3]  # waited once, in wait(), not twice
    shared.backoff(5)  # another process got a 429 meanwhile
    assert second.space("DEMO").key == "DEMO"
    assert fake_time.sleeps == [3, 5]  # the second client waited without being refused itself
    assert standin.stats()["faults_injected"] == 1
    assert shared.waits == first.requests_made + second.requests_made == 3


def test_other_failures_are_waited_out_by_the_client_alone(standin: StandinServer, fake_time: FakeTime) -> None:
    shared = SharedBackoff(fake_time)
    standin.fail(503, op="getSpaces")
    with make_client(standin, fake_time, throttle=shared) as confluence:
        confluence.space("DOCS")
    assert shared.backoffs == [] and fake_time.sleeps == [2]


def test_a_backoff_past_the_deadline_is_a_rate_limit(standin: StandinServer, fake_time: FakeTime) -> None:
    shared = SharedBackoff(fake_time)
    shared.backoff(120)
    with make_client(standin, fake_time, throttle=shared, deadline=60) as confluence, pytest.raises(RateLimited):
        confluence.space("DOCS")
    assert standin.stats()["requests"] == 0


# ---------------------------------------------------------------------- the page view


def test_page_view_shows_attached_images_and_links(
    client: ConfluenceClient, standin: StandinServer, page_id: str
) -> None:
    client.upload_attachment(page_id, filename="a b.png", data=b"\x89PNG", media_type="image/png")
    client.upload_attachment(page_id, filename="spec.pdf", data=b"%PDF", media_type="application/pdf")
    target = client.create_page(space_id=client.space("DOCS").id, title="Other page", body="<p/>")
    body = (
        '<p><ac:image ac:alt="Diagram"><ri:attachment ri:filename="a b.png"/></ac:image>'
        '<ac:link><ri:attachment ri:filename="spec.pdf"/><ac:link-body>the spec</ac:link-body></ac:link>'
        '<ac:image><ri:attachment ri:filename="missing.png"/></ac:image>'
        '<ac:link ac:anchor="install"><ri:page ri:space-key="DOCS" ri:content-title="Other page"/>'
        "<ac:link-body>other</ac:link-body></ac:link></p>"
    )
    page = client.page(page_id)
    client.update_page(page_id=page_id, title=page.title, body=body, version=page.version + 1)
    assert standin.stats()["writes"]["page_versions"] == 2  # the other page's first version, this one's second
    html = requests.get(client.page(page_id).web_url, timeout=5).text
    image = f"/wiki/download/attachments/{page_id}/a%20b.png?version=1&amp;api=v2"
    assert f'<img src="{image}" alt="Diagram">' in html
    pdf = f"/wiki/download/attachments/{page_id}/spec.pdf?version=1&amp;api=v2"
    assert f'<a class="attachment" href="{pdf}">the spec</a>' in html
    assert '<span class="attachment">[image: missing.png]</span>' in html
    assert f'href="/wiki/spaces/DOCS/pages/{target.id}/Other+page#anchor-install">other</a>' in html
    served = requests.get(standin.url + image.replace("&amp;", "&"), timeout=5)
    assert served.status_code == 200 and served.content == b"\x89PNG"
    assert served.headers["Content-Type"] == "image/png" and served.headers["Content-Security-Policy"] == "sandbox"
    assert requests.get(f"{standin.url}/wiki/download/attachments/{page_id}/nope.png", timeout=5).status_code == 404

"""A small HTTP server that speaks the publications contract (the brief shared by issues 13 and 14).

It stands in for `POST /api/v1/publications` and `GET /api/v1/publications/{id}` while the portal's own are
being built: it unpacks the bundle the client really sent, and answers from its files (a page per Markdown
file, created / updated / unchanged against what it "published" before, attachments for referenced images,
links that leave the bundle, orphans of the same sourceRef prefix, a diff in a dry run). A file holding
FAIL-ME fails with title_exists; `hang` keeps a publication running for ever.
"""

from __future__ import annotations

import difflib
import email.parser
import email.policy
import hashlib
import io
import json
import posixpath
import re
import tarfile
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "mdi_fake_publications_token"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s#]+)(?:#[^)]*)?\)")


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Publication:
    id: str
    body: dict[str, Any]
    steps: int
    polls: int = 0


class FakePublications:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.publications: dict[str, Publication] = {}
        self.keys: dict[str, tuple[str, dict[str, Any]]] = {}
        self.published: dict[str, tuple[str, str, str]] = {}  # path -> (content hash, text, sourceRef prefix)
        self.ids: dict[str, int] = {}
        self.faults: list[tuple[int, str, int | None]] = []  # (status, code, Retry-After) for the next POSTs
        self.hang = False
        self.failing_gets: tuple[int, str] | None = None  # every GET answers this (status, code) when set
        self.run_error: dict[str, str] | None = None  # the next publications fail as a whole with this error
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakePublications:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def posts(self) -> list[Received]:
        return [r for r in self.received if r.method == "POST"]

    # ---------------------------------------------------------------------------------------- the work

    def create(self, fields: dict[str, str], files: dict[str, bytes]) -> Publication:
        source_prefix = fields.get("sourceRef", "").split("@")[0]
        dry_run = fields.get("dryRun") == "true"
        pages, broken = [], []
        for path in sorted(files):
            if not path.endswith(".md"):
                continue
            text = files[path].decode()
            heading = re.search(r"^# (.+)$", text, re.M)
            title = heading.group(1).strip() if heading else posixpath.splitext(posixpath.basename(path))[0]
            digest = hashlib.sha256(files[path]).hexdigest()
            before = self.published.get(path)
            page_id = self.ids.setdefault(path, 1000 + len(self.ids))
            page: dict[str, Any] = {"path": path, "title": title, "pageId": str(page_id), "warnings": []}
            images = uploaded = 0
            for href in LINK.findall(text):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), href))
                if href.startswith(("http://", "https://", "mailto:")):
                    continue
                if target not in files:
                    broken.append({"path": path, "href": href})
                elif not target.endswith(".md"):
                    images += 1
                    uploaded += 1
            if "FAIL-ME" in text:
                status = "failed"
                page["error"] = {"code": "title_exists", "message": f'a page titled "{title}" exists, not from this tree'}
                page.pop("pageId")
            elif before is None:
                status = "created"
            elif before[0] == digest:
                status, uploaded = "unchanged", 0
            else:
                status = "updated"
            page["attachments"] = {"uploaded": uploaded, "unchanged": images - uploaded, "removed": 0}
            if status != "failed":
                page["url"] = f"https://acme.example/wiki/spaces/{fields['spaceId']}/pages/{page_id}"
            if dry_run:
                page["action"] = {"created": "create", "updated": "update"}.get(status, status)
                page["status"] = "pending"
                if status in {"created", "updated"}:
                    old = before[1] if before else ""
                    page["diff"] = "".join(difflib.unified_diff(
                        old.splitlines(True), text.splitlines(True), f"a/{path}", f"b/{path}"
                    ))
            else:
                page["status"] = status
                if status != "failed":
                    self.published[path] = (digest, text, source_prefix)
            pages.append(page)
        orphans = [
            {"pageId": str(self.ids[path]), "title": path, "url": f"https://acme.example/pages/{self.ids[path]}",
             "path": path}
            for path, (_, _, prefix) in sorted(self.published.items())
            if prefix == source_prefix and path not in files
        ]
        failed = any(p.get("error") for p in pages)
        publication_id = str(uuid.uuid4())
        body = {
            "publicationId": publication_id, "state": "partial" if failed else "succeeded", "dryRun": dry_run,
            "spaceId": "98304", "spaceKey": fields["spaceId"], "sourceRef": fields.get("sourceRef", ""),
            "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "startedAt": None, "finishedAt": None, "progress": {"done": 0, "total": len(pages)},
            "pages": pages, "orphans": orphans, "brokenLinks": broken,
        }
        if self.run_error:
            body.update(state="failed", error=self.run_error, pages=[], orphans=[], brokenLinks=[])
            body["progress"]["total"] = 0
        publication = Publication(publication_id, body, steps=3)
        self.publications[publication_id] = publication
        return publication

    def view(self, publication: Publication) -> dict[str, Any]:
        """The publication as a poll sees it: queued, then running with progress, then its outcome."""
        publication.polls += 1
        body = json.loads(json.dumps(publication.body))
        total = body["progress"]["total"]
        if self.hang or publication.polls < publication.steps:
            body["state"] = "queued" if publication.polls == 1 else "running"
            done = 0 if self.hang else total * (publication.polls - 1) // publication.steps
            body["progress"]["done"] = done
            for page in body["pages"][done:]:
                page["status"] = "pending"
                for key in ("pageId", "url", "error", "attachments"):
                    page.pop(key, None)
            return body
        body["progress"]["done"] = total
        body["startedAt"] = body["finishedAt"] = body["createdAt"]
        return body


def _error(code: str, message: str, status: int) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": code, "message": message, "requestId": "fake-request"}}


def _handler(fake: FakePublications) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(*_error("token_invalid", "The token is not known.", 401))
                return False
            return True

        def do_GET(self) -> None:
            with fake.lock:
                fake.received.append(Received("GET", self.path, dict(self.headers)))
                if not self._authorised():
                    return
                if fake.failing_gets:
                    self._send(*_error(fake.failing_gets[1], "unavailable", fake.failing_gets[0]))
                    return
                match = re.fullmatch(r"/api/v1/publications/([^/]+)", self.path)
                publication = fake.publications.get(match.group(1)) if match else None
                if publication is None:
                    self._send(*_error("publication_not_found", f"no publication {self.path}", 404))
                    return
                self._send(200, fake.view(publication))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/api/v1/publications":
                # What a web server that is not the portal answers.
                page = b"<html><body>Not Found</body></html>"
                self.send_response(404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode() + raw
            )
            fields, files = {}, {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if part.get_filename():
                    files[name] = part.get_payload(decode=True)
                else:
                    fields[name] = part.get_payload(decode=True).decode()
            with fake.lock:
                received = Received("POST", self.path, dict(self.headers), fields)
                fake.received.append(received)
                if not self._authorised():
                    return
                if fake.faults:
                    status, code, retry_after = fake.faults.pop(0)
                    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                    self._send(*_error(code, "try again later", status), headers)
                    return
                try:
                    with tarfile.open(fileobj=io.BytesIO(files.get("bundle", b"")), mode="r:gz") as tar:
                        received.files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
                except (tarfile.TarError, OSError):
                    self._send(*_error("bundle_invalid", "the bundle is not a .zip or .tar.gz archive", 400))
                    return
                key = self.headers.get("Idempotency-Key")
                # The parsed request, not its bytes: the multipart boundary differs on every retry.
                digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode() + files["bundle"]).hexdigest()
                if key in fake.keys:
                    first_digest, first_answer = fake.keys[key]
                    if first_digest != digest:
                        self._send(*_error("idempotency_conflict", "key used for another body", 409))
                        return
                    self._send(202, first_answer, {"Location": f"/api/v1/publications/{first_answer['publicationId']}"})
                    return
                publication = fake.create(fields, received.files)
                answer = {
                    "publicationId": publication.id, "state": "queued", "dryRun": publication.body["dryRun"],
                    "url": f"{fake.url}/api/v1/publications/{publication.id}",
                }
                if key:
                    fake.keys[key] = (digest, answer)
                self._send(202, answer, {"Location": f"/api/v1/publications/{publication.id}"})

    return Handler

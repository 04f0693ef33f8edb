"""The stand-in's HTTP server: auth, latency and faults around the operations of api.py, a control API for tests and
benchmarks in other processes, and a plain HTML view of spaces and pages for people trying the demo."""

from __future__ import annotations

import base64
import binascii
import contextlib
import html
import json
import logging
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from confluence.standin import api
from confluence.standin.faults import Fault, FaultPlan, FractionFault, Knobs
from confluence.standin.state import DEFAULT_EMAIL, DEFAULT_TOKEN, SERVICE_ACCOUNT_ID, PageRecord, StandinState
from confluence.standin.storage import storage_to_html

logger = logging.getLogger(__name__)

CONTROL = "/__standin__"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    standin: StandinServer


class StandinServer:
    """An in-memory Confluence Cloud on a loopback port.

    ``StandinServer(port=0)`` picks a free port; use it as a context manager or call ``start()``/``stop()``.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        email: str = DEFAULT_EMAIL,
        api_token: str = DEFAULT_TOKEN,
        bearer_tokens: list[str] | tuple[str, ...] = (),
        pages: int = 0,
        spaces: int = 2,
        users: int = 300,
        latency_ms: float = 0,
        seed: int = 1,
        public_url: str | None = None,
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.bearer_tokens = set(bearer_tokens)
        self._seed_args = {"email": email, "pages": pages, "spaces": spaces, "users": users, "seed": seed}
        self.state = StandinState(**self._seed_args)
        self.faults = FaultPlan()
        self.faults.set(latency_ms=latency_ms)
        self._stats_lock = threading.Lock()
        self._operations: Counter[str] = Counter()
        # API requests being handled right now, and the most there ever were at once since the last reset: what a
        # client-side concurrency bound (the portal's pages in flight per instance) is checked against.
        self._in_flight = 0
        self.in_flight_peak = 0
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.standin = self
        self.host, self.port = self._httpd.server_address[:2]
        self._public_url = public_url.rstrip("/") if public_url else None
        self._thread: threading.Thread | None = None
        self._basic = "Basic " + base64.b64encode(f"{email}:{api_token}".encode()).decode()

    @property
    def url(self) -> str:
        """The site URL clients use as ``base_url`` (pages are under ``url + "/wiki"``)."""
        return self._public_url or f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> StandinServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="confluence-standin", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ knobs and stats (also over HTTP)

    @property
    def knobs(self) -> Knobs:
        return self.faults.knobs

    def set_knobs(
        self,
        *,
        latency_ms: float | None = None,
        faults: list[Fault | dict[str, Any]] | None = None,
        add_faults: list[Fault | dict[str, Any]] | None = None,
        fraction: FractionFault | dict[str, Any] | None = None,
    ) -> Knobs:
        return self.faults.set(latency_ms=latency_ms, faults=faults, add_faults=add_faults, fraction=fraction)

    def fail(
        self,
        status: int = 429,
        *,
        retry_after: float | None = None,
        times: int = 1,
        op: str | None = None,
        drop: bool = False,
        after: bool = False,
    ) -> None:
        """Schedule ``times`` failures of the next matching requests (see ``Fault``)."""
        self.faults.set(
            add_faults=[Fault(status=status, retry_after=retry_after, drop=drop, after=after, op=op, times=times)]
        )

    def fail_after_create(self, *, status: int = 500, drop: bool = False, times: int = 1) -> None:
        """The ambiguous case: the next create makes the page, then answers ``status`` or drops the connection."""
        self.fail(status, drop=drop, after=True, op="createPage", times=times)

    def reset(self, *, data: bool = True) -> None:
        """Back to the seeded data (when ``data``), no faults, no latency, zero counts."""
        if data:
            self.state = StandinState(**self._seed_args)
        else:
            self.state.reset_writes()
        self.faults.reset()
        with self._stats_lock:
            self._operations.clear()
            self.in_flight_peak = self._in_flight

    def count(self, op: str) -> None:
        with self._stats_lock:
            self._operations[op] += 1

    @contextlib.contextmanager
    def in_flight(self):
        with self._stats_lock:
            self._in_flight += 1
            self.in_flight_peak = max(self.in_flight_peak, self._in_flight)
        try:
            yield
        finally:
            with self._stats_lock:
                self._in_flight -= 1

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            operations = dict(self._operations)
        return {
            "requests": sum(operations.values()),
            "operations": operations,
            "faults_injected": self.faults.injected,
            "in_flight_peak": self.in_flight_peak,
            "data": self.state.counts(),
            # Successful writes since the last reset: "a second run made no page version and uploaded nothing".
            "writes": self.state.writes(),
        }

    def authenticate(self, header: str | None) -> str | None:
        """The account id the Authorization header stands for, or None."""
        if not header:
            return None
        if header == self._basic:
            return SERVICE_ACCOUNT_ID
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "bearer" and credential in self.bearer_tokens:
            return SERVICE_ACCOUNT_ID
        if scheme.lower() == "basic":
            try:
                base64.b64decode(credential, validate=True)
            except binascii.Error:
                return None
        return None


class _Dropped(Exception):
    """Close the connection without answering."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's pooled session is what gets measured
    server: _HTTPServer
    server_version = "ConfluenceStandin/1.0"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle plus the client's delayed ACK adds
        # ~40 ms to every keep-alive response and the benchmarks would measure that instead of the portal.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        logger.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # ------------------------------------------------------------------ plumbing

    @property
    def standin(self) -> StandinServer:
        return self.server.standin

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        if status == 204:
            self.send_response(204)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            return
        body = json.dumps(data, separators=(",", ":")).encode()
        self._send(status, body, "application/json;charset=UTF-8", headers)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have gone already
            self.connection.shutdown(socket.SHUT_RDWR)

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        path = split.path
        query = parse_qsl(split.query, keep_blank_values=True)
        try:
            if path.startswith(CONTROL):
                self._control(path, query)
            elif path.startswith(api.V2) or path.startswith(api.V1):
                with self.standin.in_flight():
                    self._api(path, query)
            else:
                self._web(path, query)
        except _Dropped:
            self._drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its read timeout); nobody is left to answer
        except Exception:
            logger.exception("stand-in failed on %s %s", self.command, self.path)
            self.close_connection = True
            self._send_json(500, api.error_body(500, "The stand-in failed; see its log"))

    # ------------------------------------------------------------------ the Confluence API

    def _api(self, path: str, query: list[tuple[str, str]]) -> None:
        v1 = api.is_v1(path)
        found = api.route(self.command, path)
        if not isinstance(found, tuple):
            self._read_body()
            status = 405 if found == "method" else 404
            self._send_json(status, api.error_body(status, "Method Not Allowed" if status == 405 else None, v1=v1))
            return
        op, handler, params = found
        self.standin.count(op)
        # Latency first and with no lock held: concurrent clients overlap their waits, as on a real network.
        latency = self.standin.faults.latency
        if latency > 0:
            time.sleep(latency)
        length = int(self.headers.get("Content-Length") or 0)
        if length > api.MAX_BODY_BYTES:
            # Refused on the declared length, before reading: the unread body means this connection must close.
            self.close_connection = True
            self._send_json(413, api.error_body(413, "Request too large: the limit is 5 MB", v1=v1))
            return
        raw = self._read_body()
        fault = self.standin.faults.take(op, after=False)
        if fault is not None:
            self._fault(fault, v1)
            return
        account = self.standin.authenticate(self.headers.get("Authorization"))
        if account is None:
            self._send_json(
                401,
                api.error_body(401, "Unauthorized; check the email and API token", v1=v1),
                {"WWW-Authenticate": 'Basic realm="Confluence"'},
            )
            return
        content_type = self.headers.get("Content-Type") or ""
        body: Any
        try:
            if content_type.lower().startswith("multipart/"):
                body = api.parse_form(content_type, raw)
            else:
                body = json.loads(raw) if raw else None
        except ValueError:
            what = "multipart/form-data" if content_type.lower().startswith("multipart/") else "JSON"
            self._send_json(400, api.error_body(400, f"The request body is not valid {what}", v1=v1))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = api.Request(self.command, path, query, body, params, self.standin.url, account, headers)
        try:
            reply = handler(self.standin.state, request)
        except api.ApiError as error:
            self._send_json(error.status, api.error_body(error.status, error.title, v1=error.v1 or v1, code=error.code))
            return
        if reply.status < 400:
            after = self.standin.faults.take(op, after=True)
            if after is not None:
                self._fault(after, v1)
                return
        self._send_json(reply.status, reply.body, reply.headers)

    def _fault(self, fault: Fault, v1: bool) -> None:
        if fault.drop:
            raise _Dropped
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        self._send_json(fault.status, api.error_body(fault.status, v1=v1), headers)

    # ------------------------------------------------------------------ control API

    def _control(self, path: str, query: list[tuple[str, str]]) -> None:
        action = path[len(CONTROL) :].strip("/")
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ValueError("a JSON object is required")
            if action == "stats" and self.command == "GET":
                self._send_json(200, self.standin.stats())
            elif action == "knobs" and self.command == "GET":
                self._send_json(200, self.standin.knobs.as_dict())
            elif action == "knobs" and self.command == "POST":
                unknown = set(body) - {"latency_ms", "faults", "add_faults", "fraction"}
                if unknown:
                    raise ValueError(f"unknown knobs: {sorted(unknown)}")
                knobs = self.standin.set_knobs(**body)
                self._send_json(200, knobs.as_dict())
            elif action == "reset" and self.command == "POST":
                self.standin.reset(data=bool(body.get("data", True)))
                self._send_json(200, self.standin.stats())
            else:
                self._send_json(404, {"error": f"unknown control {self.command} {path}"})
        except (TypeError, ValueError) as exc:
            self._send_json(400, {"error": str(exc)})

    # ------------------------------------------------------------------ HTML for people

    def _web(self, path: str, query: list[tuple[str, str]]) -> None:
        self._read_body()
        state = self.standin.state
        parts = [p for p in path.split("/") if p]
        if len(parts) == 5 and parts[:3] == ["wiki", "download", "attachments"] and parts[3].isdigit():
            self._download(state, int(parts[3]), unquote(parts[4]))
            return
        if parts in ([], ["wiki"], ["wiki", "spaces"]):
            self._html(200, "Spaces", self._spaces_html(state))
            return
        if len(parts) >= 3 and parts[:2] == ["wiki", "spaces"]:
            with state.lock:
                space_id = state.space_by_key.get(parts[2])
            if space_id is not None:
                if len(parts) == 3 or parts[3] == "overview":
                    self._html(200, state.spaces[space_id].name, self._overview_html(state, space_id))
                    return
                if parts[3] == "pages" and len(parts) >= 5 and parts[4].isdigit():
                    page = state.pages.get(int(parts[4]))
                    if page is not None and page.space_id == space_id and page.status == "current":
                        with state.lock:
                            page.views += 1
                        self._html(200, page.title, self._page_html(state, page))
                        return
        self._html(404, "Not found", '<p>Nothing here. <a href="/wiki">All spaces</a></p>')

    def _download(self, state: StandinState, page_id: int, filename: str) -> None:
        """The file behind an attachment's download link (unauthenticated, like the rest of the HTML view)."""
        with state.lock:
            page = state.pages.get(page_id)
            found = None
            if page is not None and page.status == "current":
                found = next(
                    (a for a in page.attachments.values() if a.title == filename and a.status == "current"), None
                )
            data, media_type = (found.data, found.media_type) if found is not None else (b"", "")
        if found is None:
            self._html(404, "Not found", "<p>No such attachment.</p>")
            return
        disposition = "inline" if media_type.startswith("image/") else "attachment"
        self._send(
            200,
            data,
            media_type,
            {
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename)}",
                # Uploaded files are served from the stand-in's own origin: never let one run as a page.
                "Content-Security-Policy": "sandbox",
                "X-Content-Type-Options": "nosniff",
            },
        )

    def _html(self, status: int, title: str, content: str) -> None:
        document = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} - Confluence stand-in</title>
<style>
body{{font:15px/1.5 system-ui,sans-serif;margin:0;color:#172b4d}} header{{background:#0747a6;color:#fff;padding:.6em 1.5em}}
header a{{color:#fff}} main{{max-width:60em;margin:1.5em auto;padding:0 1.5em}} pre{{background:#f4f5f7;padding:.8em;overflow:auto}}
.panel{{border-left:4px solid #0065ff;background:#deebff;padding:.5em 1em;margin:1em 0}} .panel-note{{border-color:#6554c0;background:#eae6ff}}
.panel-warning{{border-color:#ff991f;background:#fffae6}} .panel-tip,.panel-success{{border-color:#36b37e;background:#e3fcef}}
.panel-error{{border-color:#de350b;background:#ffebe6}} .meta{{color:#6b778c;font-size:.9em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #dfe1e6;padding:.3em .6em}} .label{{background:#dfe1e6;border-radius:3px;padding:0 .4em;margin-right:.3em}}
.status{{font-size:.8em;font-weight:bold;text-transform:uppercase;background:#dfe1e6;padding:0 .3em}}
</style></head><body><header><a href="/wiki">Confluence stand-in</a></header><main>{content}</main></body></html>"""
        self._send(status, document.encode(), "text/html; charset=utf-8")

    def _spaces_html(self, state: StandinState) -> str:
        with state.lock:
            rows = "".join(
                f'<li><a href="/wiki/spaces/{quote(s.key)}/overview">{html.escape(s.name)}</a> ({html.escape(s.key)}, '
                f"{len(state.space_page_ids[s.id])} pages)</li>"
                for s in state.spaces.values()
            )
        return f"<h1>Spaces</h1><ul>{rows}</ul>"

    def _overview_html(self, state: StandinState, space_id: int, shown: int = 500) -> str:
        with state.lock:
            space = state.spaces[space_id]
            pages = [state.pages[pid] for pid in state.space_page_ids[space_id] if state.pages[pid].status == "current"]
            items = "".join(
                f'<li><a href="{self._page_href(space.key, p)}">{html.escape(p.title)}</a> '
                f'<span class="meta">v{p.version}</span></li>'
                for p in reversed(pages[-shown:])
            )
        more = f'<p class="meta">Showing the newest {shown} of {len(pages)}.</p>' if len(pages) > shown else ""
        return f'<h1>{html.escape(space.name)}</h1><p class="meta">Space key {html.escape(space.key)}</p>{more}<ul>{items}</ul>'

    @staticmethod
    def _page_href(key: str, page: PageRecord) -> str:
        return f"/wiki/spaces/{quote(key)}/pages/{page.id}/{api.slug(page.title)}"

    def _page_html(self, state: StandinState, page: PageRecord) -> str:
        with state.lock:
            space = state.spaces[page.space_id]
            crumbs = []
            parent = state.pages.get(page.parent_id) if page.parent_id else None
            while parent is not None and len(crumbs) < 20:
                crumbs.append(f'<a href="{self._page_href(space.key, parent)}">{html.escape(parent.title)}</a>')
                parent = state.pages.get(parent.parent_id) if parent.parent_id else None
            labels = "".join(f'<span class="label">{html.escape(name)}</span>' for _, name in page.labels)
            body, title, version, message = page.body, page.title, page.version, page.version_message
            author = state.users.get(page.version_author_id)
            files = {
                a.title: f"/wiki{api.attachment_download_path(a)}"
                for a in page.attachments.values()
                if a.status == "current"
            }
            attachment_list = "".join(
                f'<li><a href="{html.escape(url)}">{html.escape(name)}</a></li>' for name, url in sorted(files.items())
            )

        def page_url(space_key: str | None, target_title: str) -> str | None:
            with state.lock:
                target_space = state.space_by_key.get(space_key) if space_key else page.space_id
                target_id = state.titles.get((target_space, target_title)) if target_space is not None else None
                if target_id is None:
                    return None
                return self._page_href(state.spaces[target_space].key, state.pages[target_id])

        trail = " / ".join(
            [f'<a href="/wiki/spaces/{quote(space.key)}/overview">{html.escape(space.name)}</a>', *reversed(crumbs)]
        )
        meta = f"Version {version}" + (f" — {html.escape(message)}" if message else "")
        if author is not None:
            meta += f" · by {html.escape(author.display_name)}"
        return (
            f'<p class="meta">{trail}</p><h1>{html.escape(title)}</h1><p class="meta">{meta}</p>'
            f"<p>{labels}</p><article>{storage_to_html(body, attachment_url=files.get, page_url=page_url)}</article>"
            + (f'<h2>Attachments</h2><ul class="attachments">{attachment_list}</ul>' if files else "")
        )

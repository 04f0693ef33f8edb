"""A client for Confluence Cloud's REST API: v2 for spaces, pages, properties, users and attachment listing and
removal, v1 only where v2 has no endpoint (labels, attachment upload and download, user search, analytics, the
current user).

Free of Django so the import service, the directory sync, the stand-in's tests and the benchmarks share it.
Retries follow Atlassian's rate-limit advice; a create that may or may not have happened is checked before it is
ever sent again, so a retry cannot make a duplicate page.
"""

from __future__ import annotations

import base64
import logging
import random as _random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from confluence.errors import (
    AuthenticationFailed,
    BadRequest,
    ConfluenceError,
    NotFound,
    RateLimited,
    StorageRejected,
    TitleExists,
    TooLarge,
    Unavailable,
    VersionConflict,
)

__version__ = "0.1.0"
USER_AGENT = f"md-confluence-portal/{__version__}"

logger = logging.getLogger(__name__)

# Atlassian's advice for rate limits: start near 2 s, double, jitter x0.7-1.3, cap near 30 s, about 4 retries.
BACKOFF_START = 2.0
BACKOFF_CAP = 30.0
JITTER_LOW, JITTER_HIGH = 0.7, 1.3
V2_PAGE_LIMIT = 250  # the largest page size v2 allows
USERS_BULK_BATCH = 250  # the most account ids users-bulk accepts at once
TITLE_EXISTS_PREFIX = "A page with this title already exists"

# How a request may be retried: reads on any transient failure; writes only when the server said "not done, come
# back" (429, or 503 with Retry-After); creates also after an ambiguous failure, but only once the page they may
# have created has been looked for.
Policy = Literal["read", "write", "create"]


@dataclass(frozen=True)
class Space:
    id: str
    key: str
    name: str
    type: str
    status: str
    homepage_id: str | None
    web_url: str


@dataclass(frozen=True)
class Page:
    id: str
    space_id: str
    title: str
    parent_id: str | None
    status: str
    version: int
    body: str | None  # storage format, when asked for
    web_url: str
    created_at: datetime | None
    author_id: str | None
    version_created_at: datetime | None
    version_message: str = ""
    version_author_id: str | None = None


@dataclass(frozen=True)
class Property:
    id: str
    key: str
    value: Any
    version: int


@dataclass(frozen=True)
class UserRef:
    """A user as v1 user search lists them; ``email`` is None when the user's privacy settings hide it."""

    account_id: str
    display_name: str
    email: str | None
    account_type: str


@dataclass(frozen=True)
class User:
    account_id: str
    display_name: str
    public_name: str
    email: str | None
    account_status: str
    account_type: str
    time_zone: str | None


@dataclass(frozen=True)
class Attachment:
    """A file attached to a page. ``version`` starts at 1 and grows with every upload under the same file name."""

    id: str  # "att123", as both API versions spell it
    title: str  # the file name, unique among a page's attachments
    media_type: str
    file_size: int
    comment: str
    version: int


class Throttle(Protocol):
    """A rate-limit backoff shared beyond one client (every worker publishing to the same Confluence site).

    ``wait()`` runs before every request and may block until a backoff that any sharer started has ended;
    ``backoff(seconds)`` is called when Confluence answers 429, with the delay the client would otherwise have slept
    (Retry-After, or the computed exponential step). With a throttle the client leaves that wait to ``wait()``.
    """

    def wait(self) -> None: ...

    def backoff(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class ConnectionReport:
    """What the admin's "Test connection" shows: either ``ok`` with who we are, or the typed error."""

    ok: bool
    site_url: str
    message: str
    account_id: str | None = None
    display_name: str | None = None
    email: str | None = None
    error: ConfluenceError | None = None


class ConfluenceClient:
    def __init__(
        self,
        *,
        base_url: str,
        email: str | None = None,
        api_token: str | None = None,
        bearer_token: str | None = None,
        cloud_id: str | None = None,
        connect_timeout: float = 5,
        read_timeout: float = 30,
        max_retries: int = 4,
        max_guided_retries: int = 12,
        deadline: float = 60,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
        session: requests.Session | None = None,
        pool_size: int = 16,
        throttle: Throttle | None = None,
    ) -> None:
        site = base_url.rstrip("/")
        if site.endswith("/wiki"):
            site = site[: -len("/wiki")]
        self.site_url = site
        # Scoped (OAuth / service-account) tokens go through the API gateway; the paths below /wiki stay the same.
        self.api_root = f"https://api.atlassian.com/ex/confluence/{cloud_id}" if cloud_id else site
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.max_guided_retries = max_guided_retries
        self.deadline = deadline
        self._sleep = sleep
        self._clock = clock
        self._random = random
        self._throttle = throttle
        self._session = session or requests.Session()
        if session is None:
            # Bounded concurrency (the directory sync's analytics workers) shares this one pool.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            self._session.mount("https://", adapter)
            self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = USER_AGENT
        self._session.headers["Accept"] = "application/json"
        if bearer_token:
            self._session.headers["Authorization"] = f"Bearer {bearer_token}"
        elif email is not None and api_token is not None:
            # Built by hand rather than session.auth so the secret never sits on an object that repr() shows.
            raw = f"{email}:{api_token}".encode()
            self._session.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        self._lock = threading.Lock()
        self.requests_made = 0
        self._spaces_by_key: dict[str, Space] = {}
        self._spaces_by_id: dict[str, Space] = {}

    def __repr__(self) -> str:
        return f"<ConfluenceClient {self.api_root}>"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ConfluenceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ connection

    def check_connection(self) -> ConnectionReport:
        """Who the credentials belong to, and that v2 answers. Never raises a ConfluenceError; returns it instead."""
        try:
            me = self._json("GET", "/wiki/rest/api/user/current", what="user")
            # v1 answers anonymous callers with an "anonymous" user instead of 401 on some sites.
            if me.get("type") == "anonymous":
                raise AuthenticationFailed(
                    401, "Confluence treated the request as anonymous: check email and API token"
                )
            self._json("GET", "/wiki/api/v2/spaces", params={"limit": 1})
        except ConfluenceError as error:
            return ConnectionReport(ok=False, site_url=self.site_url, message=_explain(error), error=error)
        name = me.get("displayName") or me.get("publicName") or me.get("accountId")
        return ConnectionReport(
            ok=True,
            site_url=self.site_url,
            message=f"Connected to {self.site_url} as {name}",
            account_id=me.get("accountId"),
            display_name=me.get("displayName"),
            email=me.get("email") or None,
        )

    # ------------------------------------------------------------------ spaces

    def space(self, key_or_id: str) -> Space:
        """A space by key ("DOCS") or numeric id, cached for the client's life (spaces are not renamed by key)."""
        cached = self._spaces_by_id.get(key_or_id) if key_or_id.isdigit() else self._spaces_by_key.get(key_or_id)
        if cached is not None:
            return cached
        if key_or_id.isdigit():
            data = self._json("GET", f"/wiki/api/v2/spaces/{key_or_id}", what="space")
            space = self._space_from(data, None)
        else:
            data = self._json("GET", "/wiki/api/v2/spaces", params={"keys": key_or_id, "limit": 1}, what="space")
            results = data.get("results") or []
            if not results:
                raise NotFound(404, f"No space with key {key_or_id}", what="space")
            space = self._space_from(results[0], data.get("_links", {}).get("base"))
        self._remember(space)
        return space

    def iter_spaces(self, keys: Iterable[str] | None = None) -> Iterator[Space]:
        params: dict[str, Any] = {"limit": V2_PAGE_LIMIT}
        if keys is not None:
            params["keys"] = list(keys)
            if not params["keys"]:
                return
        for item, base in self._paginate_v2("/wiki/api/v2/spaces", params, what="space"):
            space = self._space_from(item, base)
            self._remember(space)
            yield space

    def _remember(self, space: Space) -> None:
        with self._lock:
            self._spaces_by_key[space.key] = space
            self._spaces_by_id[space.id] = space

    def _space_from(self, data: Mapping[str, Any], base: str | None) -> Space:
        return Space(
            id=str(data["id"]),
            key=data["key"],
            name=data.get("name", data["key"]),
            type=data.get("type", "global"),
            status=data.get("status", "current"),
            homepage_id=_str_or_none(data.get("homepageId")),
            web_url=self._web_url(data, base) or f"{self.site_url}/wiki/spaces/{data['key']}",
        )

    # ------------------------------------------------------------------ pages

    def page(self, page_id: str, *, with_body: bool = False) -> Page:
        params = {"body-format": "storage"} if with_body else None
        return self._page_from(self._json("GET", f"/wiki/api/v2/pages/{page_id}", params=params, what="page"), None)

    def page_by_title(self, space_id: str, title: str, *, with_body: bool = False) -> Page | None:
        """The current page of that exact title in the space, or None. Titles are unique per space."""
        params: dict[str, Any] = {"space-id": space_id, "title": title, "limit": 1}
        if with_body:
            params["body-format"] = "storage"
        data = self._json("GET", "/wiki/api/v2/pages", params=params, what="space")
        for item in data.get("results") or []:
            if item.get("title") == title:
                return self._page_from(item, data.get("_links", {}).get("base"))
        return None

    def pages_by_id(self, page_ids: Iterable[str], *, with_body: bool = False) -> dict[str, Page]:
        """The pages of these ids that exist, 250 per request (v2's largest page); a missing id is simply absent."""
        ids = list(dict.fromkeys(page_ids))
        found: dict[str, Page] = {}
        for start in range(0, len(ids), V2_PAGE_LIMIT):
            params: dict[str, Any] = {"id": ids[start : start + V2_PAGE_LIMIT], "limit": V2_PAGE_LIMIT}
            if with_body:
                params["body-format"] = "storage"
            for item, base in self._paginate_v2("/wiki/api/v2/pages", params, what="page"):
                page = self._page_from(item, base)
                found[page.id] = page
        return found

    def iter_pages(
        self, space_id: str, *, limit: int = V2_PAGE_LIMIT, with_body: bool = False, status: str | None = None
    ) -> Iterator[Page]:
        """Every page of a space, following the cursor; only one page of results is held at a time."""
        params: dict[str, Any] = {"space-id": space_id, "limit": min(limit, V2_PAGE_LIMIT)}
        if with_body:
            params["body-format"] = "storage"
        if status:
            params["status"] = status
        for item, base in self._paginate_v2("/wiki/api/v2/pages", params, what="space"):
            yield self._page_from(item, base)

    def create_page(
        self,
        *,
        space_id: str,
        title: str,
        body: str,
        parent_id: str | None = None,
        marker: Callable[[Page], bool] | None = None,
    ) -> Page:
        """Create a page (v2 answers 200). After an ambiguous failure the page is looked up by title before any
        resend; a page found there is ours when ``marker(page)`` says so (default: its storage body is ours)."""
        payload: dict[str, Any] = {
            "spaceId": space_id,
            "status": "current",
            "title": title,
            "body": {"representation": "storage", "value": body},
        }
        if parent_id:
            payload["parentId"] = parent_id
        is_ours = marker or (lambda page: page.body == body)
        ambiguous_attempts = 0

        def recover() -> Page | None:
            nonlocal ambiguous_attempts
            ambiguous_attempts += 1
            found = self.page_by_title(space_id, title, with_body=marker is None)
            if found is None:
                return None
            if is_ours(found):
                logger.info("create of %r had reached Confluence before failing; using page %s", title, found.id)
                return found
            raise TitleExists(400, f"{TITLE_EXISTS_PREFIX}: {title}", page_id=found.id)

        try:
            outcome = self._send("POST", "/wiki/api/v2/pages", json=payload, policy="create", recover=recover)
        except NotFound as error:
            raise self._which_missing(error, space_id, parent_id) from None
        except TitleExists as error:
            if error.page_id is None:
                existing = self.page_by_title(space_id, title, with_body=ambiguous_attempts > 0 and marker is None)
                # A resend can race the first, lost, attempt that Confluence was still carrying out: then the
                # "existing" page is the one we created.
                if existing is not None and ambiguous_attempts > 0 and is_ours(existing):
                    return existing
                error.page_id = existing.id if existing else None
            raise
        if isinstance(outcome, Page):
            return outcome
        return self._page_from(_decode(outcome), None)

    def update_page(
        self,
        *,
        page_id: str,
        title: str,
        body: str,
        version: int,
        message: str | None = None,
        parent_id: str | None = None,
        status: str = "current",
    ) -> Page:
        """Write a new version; ``version`` is the current version + 1 (Confluence answers 409 otherwise)."""
        version_field: dict[str, Any] = {"number": version}
        if message:
            version_field["message"] = message
        payload: dict[str, Any] = {
            "id": page_id,
            "status": status,
            "title": title,
            "body": {"representation": "storage", "value": body},
            "version": version_field,
        }
        if parent_id:
            payload["parentId"] = parent_id
        response = self._send("PUT", f"/wiki/api/v2/pages/{page_id}", json=payload, policy="write", what="page")
        assert isinstance(response, requests.Response)
        return self._page_from(_decode(response), None)

    def delete_page(self, page_id: str) -> None:
        """Move a page to the trash (v2 DELETE answers 204)."""
        self._send("DELETE", f"/wiki/api/v2/pages/{page_id}", policy="write", what="page")

    def _which_missing(self, error: NotFound, space_id: str, parent_id: str | None) -> NotFound:
        # Confluence's 404 on create does not say what was missing; the space lookup is usually cached already.
        what = "space"
        if parent_id:
            try:
                self.space(space_id)
                what = "parent"
            except NotFound:
                what = "space"
        return NotFound(error.status, error.message, error.retry_after, what=what)

    def _page_from(self, data: Mapping[str, Any], base: str | None) -> Page:
        version = data.get("version") or {}
        storage = (data.get("body") or {}).get("storage")
        return Page(
            id=str(data["id"]),
            space_id=str(data.get("spaceId", "")),
            title=data.get("title", ""),
            parent_id=_str_or_none(data.get("parentId")),
            status=data.get("status", "current"),
            version=int(version.get("number", 1)),
            body=storage.get("value") if isinstance(storage, Mapping) else None,
            web_url=self._web_url(data, base) or f"{self.site_url}/wiki/pages/viewpage.action?pageId={data['id']}",
            created_at=_parse_time(data.get("createdAt")),
            author_id=data.get("authorId"),
            version_created_at=_parse_time(version.get("createdAt")),
            version_message=version.get("message") or "",
            version_author_id=version.get("authorId"),
        )

    def _web_url(self, data: Mapping[str, Any], base: str | None) -> str | None:
        links = data.get("_links") or {}
        webui = links.get("webui")
        if not webui:
            return None
        if webui.startswith("http"):
            return webui
        return f"{(links.get('base') or base or self.site_url + '/wiki').rstrip('/')}{webui}"

    # ------------------------------------------------------------------ labels and properties

    def add_labels(self, page_id: str, labels: list[str]) -> None:
        if not labels:
            return
        payload = [{"prefix": "global", "name": name} for name in labels]
        # Adding a label that is already there changes nothing, so resending after a failure is safe.
        self._send("POST", f"/wiki/rest/api/content/{page_id}/label", json=payload, policy="read", what="page")

    def labels(self, page_id: str) -> list[str]:
        return [
            item["name"]
            for item, _ in self._paginate_v2(
                f"/wiki/api/v2/pages/{page_id}/labels", {"limit": V2_PAGE_LIMIT}, what="page"
            )
        ]

    def get_property(self, page_id: str, key: str) -> Property | None:
        data = self._json("GET", f"/wiki/api/v2/pages/{page_id}/properties", params={"key": key}, what="page")
        for item in data.get("results") or []:
            if item.get("key") == key:
                return _property_from(item)
        return None

    def create_property(self, page_id: str, key: str, value: Any) -> Property:
        response = self._send(
            "POST",
            f"/wiki/api/v2/pages/{page_id}/properties",
            json={"key": key, "value": value},
            policy="write",
            what="page",
        )
        assert isinstance(response, requests.Response)
        return _property_from(_decode(response))

    def update_property(self, page_id: str, current: Property, value: Any) -> Property:
        payload = {"key": current.key, "value": value, "version": {"number": current.version + 1}}
        response = self._send(
            "PUT",
            f"/wiki/api/v2/pages/{page_id}/properties/{current.id}",
            json=payload,
            policy="write",
            what="property",
        )
        assert isinstance(response, requests.Response)
        return _property_from(_decode(response))

    def set_property(self, page_id: str, key: str, value: Any, *, current: Property | None | bool = True) -> Property:
        """Create or update a content property. Pass ``current`` (a Property, or None when the caller knows there
        is none, e.g. on a page it just created) to save the look-up request."""
        existing = self.get_property(page_id, key) if current is True else current
        if isinstance(existing, Property):
            return self.update_property(page_id, existing, value)
        return self.create_property(page_id, key, value)

    # ------------------------------------------------------------------ attachments

    def attachments(self, page_id: str) -> list[Attachment]:
        """Every current attachment of a page (v2, following the cursor)."""
        return [
            _attachment_from(item)
            for item, _ in self._paginate_v2(
                f"/wiki/api/v2/pages/{page_id}/attachments", {"limit": V2_PAGE_LIMIT}, what="page"
            )
        ]

    def upload_attachment(
        self, page_id: str, *, filename: str, data: bytes, media_type: str, comment: str = ""
    ) -> Attachment:
        """Create the page's attachment of that file name, or add a version to it when it exists (v1's PUT).

        A minor edit, so watchers get no notification per file. Resent only when Confluence said it did nothing
        (429): a resend after a lost answer would only add an identical version, but it is not worth the traffic."""
        response = self._send(
            "PUT",
            f"/wiki/rest/api/content/{page_id}/child/attachment",
            files={"file": (filename, data, media_type)},
            form={"comment": comment, "minorEdit": "true"},
            headers={"X-Atlassian-Token": "no-check"},
            policy="write",
            what="page",
        )
        assert isinstance(response, requests.Response)
        results = _decode(response).get("results") or []
        if not results:
            raise Unavailable(response.status_code, "Confluence answered an attachment upload with no attachment")
        return _attachment_from(results[0])

    def attachment_data(self, page_id: str, attachment_id: str) -> bytes:
        """The content of an attachment's current version: v1 answers with a redirect to the file."""
        response = self._send(
            "GET",
            f"/wiki/rest/api/content/{page_id}/child/attachment/{attachment_id}/download",
            policy="read",
            what="page",
        )
        assert isinstance(response, requests.Response)
        location = response.headers.get("Location")
        if response.status_code not in (301, 302, 303, 307, 308) or not location:
            return response.content
        if location.startswith("/"):
            location = self.site_url + location  # a site-relative file URL, outside the API gateway
        # Cloud sends the file from its media service: the site's credential must not travel to another host.
        foreign = urlsplit(location).netloc not in {urlsplit(self.site_url).netloc, urlsplit(self.api_root).netloc}
        download = self._send(
            "GET", location, headers={"Authorization": None} if foreign else None, policy="read", what="page"
        )
        assert isinstance(download, requests.Response)
        return download.content

    def delete_attachment(self, attachment_id: str) -> None:
        """Move an attachment to the trash (v2), where an admin can still restore it."""
        self._send("DELETE", f"/wiki/api/v2/attachments/{attachment_id}", policy="write", what="page")

    # ------------------------------------------------------------------ archive

    def archive_page(self, page_id: str) -> str:
        """Archive one page (v1; Confluence carries it out as a long task, whose id is returned). One page per call:
        sites below the Premium edition refuse a request that names more than one."""
        response = self._send(
            "POST", "/wiki/rest/api/content/archive", json={"pages": [{"id": int(page_id)}]}, policy="write", what="page"
        )
        assert isinstance(response, requests.Response)
        return str(_decode(response).get("id") or "")

    # ------------------------------------------------------------------ users

    def iter_users(self, *, limit: int = 1000) -> Iterator[UserRef]:
        """Every user through v1 search (``cql=type=user``), start/limit paging, one page held at a time."""
        path: str | None = "/wiki/rest/api/search/user"
        params: dict[str, Any] | None = {"cql": "type=user", "start": 0, "limit": limit}
        while path:
            data = self._json("GET", path, params=params, what="user")
            for result in data.get("results") or []:
                user = result.get("user") or {}
                if not user.get("accountId"):
                    continue
                yield UserRef(
                    account_id=user["accountId"],
                    display_name=user.get("displayName") or user.get("publicName") or "",
                    email=user.get("email") or None,
                    account_type=user.get("accountType") or "atlassian",
                )
            path = _v1_next(data)
            params = None

    def users_bulk(self, account_ids: Iterable[str]) -> list[User]:
        ids = list(dict.fromkeys(account_ids))
        users: list[User] = []
        for start in range(0, len(ids), USERS_BULK_BATCH):
            batch = ids[start : start + USERS_BULK_BATCH]
            # A lookup, though sent as POST: resending it is harmless.
            response = self._send(
                "POST", "/wiki/api/v2/users-bulk", json={"accountIds": batch}, policy="read", what="user"
            )
            assert isinstance(response, requests.Response)
            for item in _decode(response).get("results") or []:
                users.append(
                    User(
                        account_id=item["accountId"],
                        display_name=item.get("displayName") or "",
                        public_name=item.get("publicName") or "",
                        email=item.get("email") or None,
                        account_status=item.get("accountStatus") or "unknown",
                        account_type=item.get("accountType") or "unknown",
                        time_zone=item.get("timeZone"),
                    )
                )
        return users

    # ------------------------------------------------------------------ analytics

    def page_views(self, page_id: str) -> int:
        return int(self._json("GET", f"/wiki/rest/api/analytics/content/{page_id}/views", what="page").get("count", 0))

    def page_viewers(self, page_id: str) -> int:
        return int(
            self._json("GET", f"/wiki/rest/api/analytics/content/{page_id}/viewers", what="page").get("count", 0)
        )

    # ------------------------------------------------------------------ transport

    def _paginate_v2(
        self, path: str, params: dict[str, Any], *, what: str
    ) -> Iterator[tuple[dict[str, Any], str | None]]:
        next_path: str | None = path
        next_params: dict[str, Any] | None = params
        while next_path:
            response = self._send("GET", next_path, params=next_params, policy="read", what=what)
            assert isinstance(response, requests.Response)
            data = _decode(response)
            links = data.get("_links") or {}
            for item in data.get("results") or []:
                yield item, links.get("base")
            # The cursor link already carries every filter, so it is followed as given.
            next_path = links.get("next") or _link_header_next(response)
            next_params = None

    def _json(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, what: str = "page"
    ) -> dict[str, Any]:
        response = self._send(method, path, params=params, policy="read", what=what)
        assert isinstance(response, requests.Response)
        return _decode(response)

    def _url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        if not path.startswith("/wiki/"):
            path = "/wiki" + path  # v1's _links.next is relative to the /wiki context
        return self.api_root + path

    def _count(self) -> None:
        with self._lock:
            self.requests_made += 1

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str | None] | None = None,  # None removes a session header for this request
        policy: Policy,
        what: str = "page",
        recover: Callable[[], Page | None] | None = None,
    ) -> requests.Response | Page:
        url = self._url(path)
        give_up_at = self._clock() + self.deadline
        retries = 0
        last_error: ConfluenceError | None = None
        while True:
            ambiguous = False
            error: ConfluenceError
            if self._throttle is not None:
                self._throttle.wait()
            remaining = give_up_at - self._clock()
            if remaining <= 0:
                # Another worker's backoff outlasted this call's deadline.
                raise last_error or RateLimited(None, "Gave up waiting for the shared rate-limit backoff to end")
            try:
                self._count()
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    files=files,
                    data=form,
                    headers=headers,
                    timeout=(self.connect_timeout, max(0.1, min(self.read_timeout, remaining))),
                    allow_redirects=False,
                )
            except requests.ConnectTimeout as exc:
                error = Unavailable(None, f"Could not connect to Confluence: {type(exc).__name__}")
                retryable = True
            except requests.ConnectionError as exc:
                if _never_sent(exc):
                    error = Unavailable(None, f"Could not connect to Confluence: {_short(exc)}")
                    retryable = True
                else:
                    error = Unavailable(None, f"Connection to Confluence failed: {_short(exc)}")
                    retryable, ambiguous = policy != "write", policy == "create"
            except requests.Timeout:
                error = Unavailable(None, "Confluence did not answer in time")
                retryable, ambiguous = policy != "write", policy == "create"
            else:
                if response.status_code < 400:
                    return response
                error = _error_from(response, what)
                status = response.status_code
                # A 429 means "not processed": safe to resend for any method. A 503 with Retry-After is as good for
                # updates, but a create is checked for first anyway: a duplicate page is the one failure we must avoid.
                if status == 429 or (status == 503 and error.retry_after is not None and policy != "create"):
                    retryable = True
                elif status >= 500:
                    retryable, ambiguous = policy != "write", policy == "create"
                else:
                    raise error
            # When Confluence says when to come back (Retry-After on a 429 or 503), its word bounds the waiting, up to
            # the deadline: a fixed count of 4 loses about one call in 400 under a 30 % rate-limit storm. Without
            # that guidance the count is Atlassian's "about 4 retries".
            guided = error.retry_after is not None and error.status in (429, 503)
            limit = self.max_guided_retries if guided else self.max_retries
            if not retryable or retries >= limit:
                raise error
            delay = self._delay(retries, error.retry_after)
            if self._clock() + delay > give_up_at:
                raise error
            logger.info("Confluence %s %s: %s; retry %d in %.1fs", method, path, error, retries + 1, delay)
            if self._throttle is not None and error.status == 429:
                # Every sharer waits out a rate limit, not only this call: the next wait() does the sleeping.
                self._throttle.backoff(delay)
            else:
                self._sleep(delay)
            last_error = error
            retries += 1
            if ambiguous and recover is not None:
                found = recover()
                if found is not None:
                    return found

    def _delay(self, retries: int, retry_after: float | None) -> float:
        jitter = JITTER_LOW + (JITTER_HIGH - JITTER_LOW) * self._random()
        if retry_after is not None:
            # Retry-After is the minimum; jitter only ever adds, so clients told the same second do not stampede.
            return retry_after * max(1.0, jitter)
        return min(BACKOFF_CAP, BACKOFF_START * (2**retries) * jitter)


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when the TCP connection was never established, so Confluence cannot have seen the request."""
    from urllib3.exceptions import NewConnectionError

    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, (NewConnectionError, ConnectionRefusedError)):
            return True
        reason = getattr(node, "reason", None)
        if isinstance(reason, BaseException) and id(reason) not in seen:
            node = reason
            continue
        args = getattr(node, "args", ())
        nested = next((a for a in args if isinstance(a, BaseException)), None)
        node = nested or node.__cause__ or node.__context__
    return False


def _short(exc: BaseException) -> str:
    """The cause in a few words ("Connection refused", "Name or service not known"), not urllib3's nested repr."""
    text = str(exc)
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if match:
        return match.group(1).strip()
    for marker in ("Read timed out", "timed out", "Connection aborted", "Connection reset", "Remote end closed"):
        if marker.lower() in text.lower():
            return marker
    return text[:200]


def _decode(response: requests.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        data = response.json()
    except ValueError as exc:
        raise Unavailable(response.status_code, f"Confluence answered with something that is not JSON: {exc}") from None
    if isinstance(data, list):
        return {"results": data}
    return data


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return (response.text or response.reason or "")[:500]
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            parts = [str(first.get("title") or first.get("code") or "")]
            if first.get("detail"):
                parts.append(str(first["detail"]))
            return ": ".join(p for p in parts if p)[:1000]
        for key in ("message", "errorMessage", "title"):
            if data.get(key):
                return str(data[key])[:1000]
    return response.text[:500]


def _error_from(response: requests.Response, what: str) -> ConfluenceError:
    status = response.status_code
    message = _message(response)
    retry_after = _retry_after(response)
    if status in (401, 403):
        return AuthenticationFailed(status, message)
    if status == 404:
        return NotFound(status, message, what=what)
    if status == 409:
        return VersionConflict(status, message)
    if status == 413:
        return TooLarge(status, message)
    if status == 429:
        return RateLimited(status, message, retry_after)
    if status == 400:
        if message.startswith(TITLE_EXISTS_PREFIX):
            return TitleExists(status, message)
        if "Error parsing xhtml" in message:
            return StorageRejected(status, message)
        return BadRequest(status, message)
    if status >= 500:
        return Unavailable(status, message, retry_after)
    return ConfluenceError(status, message, retry_after)


def _explain(error: ConfluenceError) -> str:
    if isinstance(error, AuthenticationFailed):
        if error.status == 401:
            return "Confluence refused the credentials (401): check the email and API token."
        return "Confluence refused access (403): the account lacks permission to use the REST API on this site."
    if isinstance(error, NotFound):
        return "Confluence answered 404: check the site URL (it should look like https://your-site.atlassian.net)."
    if isinstance(error, RateLimited):
        return "Confluence is rate limiting this account (429); try again later."
    if isinstance(error, Unavailable):
        if error.status is None:
            return f"{error.message}: check the site URL and that this server can reach it."
        return f"Confluence is unavailable ({error.status}): {error.message}"
    return f"Confluence answered {error.status}: {error.message}"


def _link_header_next(response: requests.Response) -> str | None:
    link = response.links.get("next") if response.headers.get("Link") else None
    return link.get("url") if link else None


def _v1_next(data: Mapping[str, Any]) -> str | None:
    return (data.get("_links") or {}).get("next") or None


def _attachment_from(data: Mapping[str, Any]) -> Attachment:
    """An attachment from v2's flat shape or v1's content shape (media type and size under ``extensions``)."""
    extensions = data.get("extensions") or {}
    metadata = data.get("metadata") or {}
    version = data.get("version") or {}
    return Attachment(
        id=str(data["id"]),
        title=data.get("title", ""),
        media_type=data.get("mediaType") or extensions.get("mediaType") or metadata.get("mediaType") or "",
        file_size=int(data.get("fileSize") or extensions.get("fileSize") or 0),
        comment=data.get("comment") or extensions.get("comment") or metadata.get("comment") or "",
        version=int(version.get("number", 1)),
    )


def _property_from(data: Mapping[str, Any]) -> Property:
    return Property(
        id=str(data["id"]),
        key=data["key"],
        value=data.get("value"),
        version=int((data.get("version") or {}).get("number", 1)),
    )


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


__all__ = [
    "USER_AGENT",
    "Attachment",
    "ConfluenceClient",
    "ConnectionReport",
    "Page",
    "Property",
    "Space",
    "Throttle",
    "User",
    "UserRef",
]

"""How the Confluence client talks HTTP: one pooled session with the site's credentials, and the retry rules of
Atlassian's rate-limit advice, kept apart from what the calls mean (confluence/client.py).

A request may be retried as its policy allows: reads on any transient failure; writes only when the server said
"not done, come back" (429, or 503 with Retry-After); creates also after an ambiguous failure, but only once what
they may have created has been looked for (``recover``), so a retry cannot make a duplicate.
"""

from __future__ import annotations

import base64
import logging
import os
import random as _random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

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

logger = logging.getLogger("confluence.client")

# Atlassian's advice for rate limits: start near 2 s, double, jitter x0.7-1.3, cap near 30 s, about 4 retries.
BACKOFF_START = 2.0
BACKOFF_CAP = 30.0
JITTER_LOW, JITTER_HIGH = 0.7, 1.3
TITLE_EXISTS_PREFIX = "A page with this title already exists"

Policy = Literal["read", "write", "create"]


class Throttle(Protocol):
    """A rate-limit backoff shared beyond one client (every worker publishing to the same Confluence site).

    ``wait()`` runs before every request and may block until a backoff that any sharer started has ended;
    ``backoff(seconds)`` is called when Confluence answers 429, with the delay the client would otherwise have slept
    (Retry-After, or the computed exponential step). With a throttle the client leaves that wait to ``wait()``.
    """

    def wait(self) -> None: ...

    def backoff(self, seconds: float) -> None: ...


class Transport:
    """The HTTP side of one client: credentials, connection pool, timeouts, retries, the shared throttle."""

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
            # What requests would read from the environment on every call (proxies, a CA bundle) is read once here:
            # the per-call look-up was a measurable part of an import's own CPU.
            self._session.proxies.update(requests.utils.get_environ_proxies(self.api_root))
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                self._session.verify = bundle
            self._session.trust_env = False
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

    def close(self) -> None:
        self._session.close()

    def paginate(
        self, path: str, params: dict[str, Any], *, what: str
    ) -> Iterator[tuple[dict[str, Any], str | None]]:
        next_path: str | None = path
        next_params: dict[str, Any] | None = params
        while next_path:
            response = self.send("GET", next_path, params=next_params, policy="read", what=what)
            assert isinstance(response, requests.Response)
            data = decode(response)
            links = data.get("_links") or {}
            for item in data.get("results") or []:
                yield item, links.get("base")
            # The cursor link already carries every filter, so it is followed as given.
            next_path = links.get("next") or link_header_next(response)
            next_params = None

    def json(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, what: str = "page"
    ) -> dict[str, Any]:
        response = self.send(method, path, params=params, policy="read", what=what)
        assert isinstance(response, requests.Response)
        return decode(response)

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        if not path.startswith("/wiki/"):
            path = "/wiki" + path  # v1's _links.next is relative to the /wiki context
        return self.api_root + path

    def _count(self) -> None:
        with self._lock:
            self.requests_made += 1

    def send(
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
        recover: Callable[[], Any] | None = None,
    ) -> Any:
        url = self.url(path)
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
                error = error_from(response, what)
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
            delay = self._delay(retries, error.retry_after) if retryable else 0.0
            shared = self._throttle if error.status == 429 else None
            if shared is not None:
                # Every sharer waits out a rate limit, not only this call (even when this call gives up now); the
                # next wait() does the sleeping.
                shared.backoff(delay)
            if not retryable or retries >= limit:
                raise error
            if self._clock() + delay > give_up_at:
                raise error
            logger.info("Confluence %s %s: %s; retry %d in %.1fs", method, path, error, retries + 1, delay)
            if shared is None:
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


def decode(response: requests.Response) -> dict[str, Any]:
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


def error_from(response: requests.Response, what: str) -> ConfluenceError:
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


def link_header_next(response: requests.Response) -> str | None:
    link = response.links.get("next") if response.headers.get("Link") else None
    return link.get("url") if link else None



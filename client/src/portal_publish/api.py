"""The HTTP transport to the portal: bearer token, retries with a deadline, and the API's calls.

What is retried, and why it is safe:
- network errors (refused, reset, timed out): GETs always; POSTs only because every POST carries an
  Idempotency-Key, so a request that reached the portal before the answer was lost is answered from the
  first one instead of running twice. Waits grow exponentially with jitter, so many CI jobs that lost the
  portal at once do not come back in lockstep.
- 429 and 503: after the Retry-After the portal sends (or the same backoff when it sends none).
- 502/504 that are not the portal's own JSON: a proxy in front of it that lost it for a moment.
Every retry happens within one deadline per call; a wait that would end past it gives up at once, with the
portal's error, instead of sleeping for nothing.
"""

from __future__ import annotations

import email.utils
import json
import mimetypes
import random as random_module
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from portal_publish import __version__
from portal_publish.errors import ApiError, NetworkError

RETRY_STATUSES = frozenset({429, 503})
PROXY_STATUSES = frozenset({502, 504})
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 10.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: requests.structures.CaseInsensitiveDict


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _reason(exc: requests.RequestException) -> str:
    """The cause of a network error in a few words, not urllib3's nested repr."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    if found:
        return found.group(1).strip().rstrip(".").lower()
    if "RemoteDisconnected" in str(exc) or "Connection aborted" in str(exc):
        return "connection closed without an answer"
    return type(exc).__name__


class Transport:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        retry_deadline: float = 120.0,
        timeout: tuple[float, float] = (10.0, 120.0),
        on_retry: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry_deadline = retry_deadline
        self.timeout = timeout
        self.on_retry = on_retry or (lambda message: None)
        self._sleep, self._clock, self._random = sleep, clock, random
        self.session = requests.Session()
        self.session.headers.update({
            "Authorization": f"Bearer {token}",
            "User-Agent": f"portal-publish/{__version__} python-requests/{requests.__version__}",
            "Accept": "application/json",
        })

    def close(self) -> None:
        self.session.close()

    def _backoff(self, attempt: int) -> float:
        ceiling = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (attempt - 1))
        # Half fixed, half random: never a zero wait, never two clients in step.
        return ceiling / 2 + self._random() * ceiling / 2

    def request(self, method: str, path: str, **kwargs: Any) -> Answer:
        url = f"{self.base_url}{path}"
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                if not isinstance(exc, requests.ConnectionError | requests.Timeout):
                    raise NetworkError(f"{method} {url}: {exc}") from exc
                delay = self._backoff(attempt)
                elapsed = self._clock() - started
                if elapsed + delay > self.retry_deadline:
                    raise NetworkError(
                        f"could not reach the portal at {self.base_url}: {_reason(exc)} "
                        f"({attempt} attempt{'s' if attempt > 1 else ''} in {elapsed:.1f} s, "
                        f"retry deadline {self.retry_deadline:g} s)"
                    ) from exc
                self.on_retry(f"{_reason(exc)} ({url}); retrying in {delay:.1f} s")
                self._sleep(delay)
                continue
            answer = self._answer(response)
            if response.status_code < 400:
                return answer
            error = self._error(response, answer)
            retryable = response.status_code in RETRY_STATUSES or (
                response.status_code in PROXY_STATUSES and error.code.startswith("http_")
            )
            if not retryable:
                raise error
            asked = _retry_after(response.headers.get("Retry-After"))
            delay = asked if asked is not None else self._backoff(attempt)
            elapsed = self._clock() - started
            if elapsed + delay > self.retry_deadline:
                error.message += (
                    f" (gave up: a retry in {delay:.0f} s would pass the {self.retry_deadline:g} s retry deadline)"
                )
                raise error
            self.on_retry(f"HTTP {response.status_code} {error.code}; retrying in {delay:.1f} s")
            self._sleep(delay)

    @staticmethod
    def _answer(response: requests.Response) -> Answer:
        body: dict[str, Any] = {}
        if "json" in response.headers.get("Content-Type", ""):
            try:
                parsed = response.json()
            except (ValueError, json.JSONDecodeError):
                parsed = None
            if isinstance(parsed, dict):
                body = parsed
        return Answer(response.status_code, body, response.headers)

    @staticmethod
    def _error(response: requests.Response, answer: Answer) -> ApiError:
        error = answer.body.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return ApiError(
                error["code"], str(error.get("message", "")), status=response.status_code,
                request_id=error.get("requestId") or response.headers.get("X-Request-ID"), body=answer.body,
            )
        # Not the portal's error shape: a proxy, a load balancer, or PORTAL_URL pointing somewhere else.
        return ApiError(
            f"http_{response.status_code}",
            f"{response.reason or 'error'} from {response.url}, not an answer of the portal's API",
            status=response.status_code, request_id=response.headers.get("X-Request-ID"),
        )


class PortalApi:
    """The portal's calls the client makes."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def import_page(
        self, body: dict[str, Any], *, idempotency_key: str, files: list[tuple[str, bytes]] | None = None
    ) -> dict[str, Any]:
        """JSON without ``files``; with them (even none), the same fields as a multipart form with one
        ``attachments`` part per file, its file name the path the Markdown refers to it by."""
        headers = {"Idempotency-Key": idempotency_key}
        if files is None:
            return self.transport.request("POST", "/api/v1/imports", json=body, headers=headers).body
        parts: list[tuple[str, tuple[str | None, Any, str | None]]] = []
        for name, value in body.items():
            # Text fields: (None, value) makes a part without a file name; a list is the field repeated.
            for item in value if isinstance(value, list) else [value]:
                text = ("true" if item else "false") if isinstance(item, bool) else str(item)
                parts.append((name, (None, text, None)))
        for filename, data in files:
            media_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            parts.append(("attachments", (filename, data, media_type)))
        return self.transport.request("POST", "/api/v1/imports", files=parts, headers=headers).body

    def publication_create(
        self, *, bundle: bytes, filename: str, fields: dict[str, str], idempotency_key: str
    ) -> Answer:
        return self.transport.request(
            "POST", "/api/v1/publications", data=fields,
            files={"bundle": (filename, bundle, "application/gzip")},
            headers={"Idempotency-Key": idempotency_key},
        )

    def publication_get(self, publication_id: str) -> dict[str, Any]:
        return self.transport.request("GET", f"/api/v1/publications/{quote(publication_id, safe='')}").body

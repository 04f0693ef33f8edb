"""Typed failures of Confluence calls.

Each exception keeps Confluence's own HTTP status and message, so the import's audit record can show what
Confluence said, and the portal's API can map it to its documented codes without parsing strings again.
"""

from __future__ import annotations


class ConfluenceError(Exception):
    """Any failure talking to Confluence. ``status`` is None when no HTTP answer arrived (timeout, refused)."""

    def __init__(self, status: int | None, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{status}: {message}" if status is not None else message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


class AuthenticationFailed(ConfluenceError):
    """401 (wrong email or API token) or 403 (the account lacks a permission the call needs)."""


class NotFound(ConfluenceError):
    """404. ``what`` says which thing was missing: "space", "parent", "page", "property" or "user".

    Confluence answers 404 also when the account may not see the object, so this can mean missing permission.
    """

    def __init__(
        self, status: int | None, message: str, retry_after: float | None = None, *, what: str = "page"
    ) -> None:
        super().__init__(status, message, retry_after)
        self.what = what


class BadRequest(ConfluenceError):
    """400 that is none of the more specific cases below."""


class TitleExists(BadRequest):
    """v2's 400 "A page with this title already exists". ``page_id`` is the existing page's id when found."""

    def __init__(
        self, status: int | None, message: str, retry_after: float | None = None, *, page_id: str | None = None
    ) -> None:
        super().__init__(status, message, retry_after)
        self.page_id = page_id


class StorageRejected(BadRequest):
    """400 "Error parsing xhtml": the storage-format body is not well-formed."""


class TooLarge(ConfluenceError):
    """413: the request body is over Confluence's limit (5 MB)."""


class VersionConflict(ConfluenceError):
    """409: the version number sent is not the current one + 1 (someone else edited the page meanwhile)."""


class RateLimited(ConfluenceError):
    """429 still answered after the retries and the deadline allowed; ``retry_after`` is Confluence's last hint."""


class Unavailable(ConfluenceError):
    """5xx, timeouts and connection failures, after retries where they were safe."""


__all__ = [
    "AuthenticationFailed",
    "BadRequest",
    "ConfluenceError",
    "NotFound",
    "RateLimited",
    "StorageRejected",
    "TitleExists",
    "TooLarge",
    "Unavailable",
    "VersionConflict",
]

"""The client's errors, the exit code each one means, and a one-line message for every error code of the API."""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_PAGES_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Refusals about one page's content or its place in Confluence: "some pages failed" (exit 1), like a failed page
# of a publication. Transient trouble (Confluence or the portal unreachable, rate limits past the deadline) is
# exit 1 too: the same command may succeed later. Everything else needs the command, the token or the
# configuration changed: exit 2.
PAGE_CODES = frozenset({
    "title_exists", "content_empty", "content_too_large", "title_invalid", "labels_invalid",
    "confluence_rejected", "import_in_progress",
})
TRANSIENT_CODES = frozenset({
    "rate_limited", "confluence_unavailable", "confluence_rate_limited", "confluence_auth_failed", "internal_error",
    "network_error", "wait_timeout",
})

# What to do about each code, after the portal's own message (which says what happened).
HINTS: dict[str, str] = {
    "invalid_request": "the request was refused as malformed; check the options given",
    "content_empty": "the file has no content to publish",
    "title_invalid": "give --title 1 to 255 characters",
    "labels_invalid": "labels are letters, digits, '-' and '_' without spaces",
    "token_missing": "set PORTAL_TOKEN to a token issued in the portal's admin",
    "token_invalid": "PORTAL_TOKEN is not a token this portal knows; check that the whole secret was copied",
    "token_expired": "ask a portal admin for a new token and update PORTAL_TOKEN",
    "token_revoked": "ask a portal admin for a new token and update PORTAL_TOKEN",
    "space_forbidden": "this token may not publish to that space; use a space it allows or ask for a token that does",
    "space_not_found": "check --space (a space key like DOCS, or a numeric space id)",
    "parent_not_found": "check --parent: it must be the id of a page in that space",
    "import_not_found": "no such import for this token's instance",
    "publication_not_found": "no such publication for this token's instance",
    "title_exists": "a page with this title exists; pass --overwrite to update it",
    "idempotency_conflict": "the same Idempotency-Key was used for a different request",
    "import_in_progress": "the same import is still running; wait and run the command again",
    "content_too_large": "split the Markdown into smaller files",
    "rate_limited": "too many requests for this token; try again later or ask for a higher limit",
    "confluence_rejected": "Confluence refused the change; the message says why",
    "confluence_auth_failed": "the portal's Confluence credentials were refused; tell a portal admin",
    "confluence_unavailable": "Confluence did not answer; try again later",
    "confluence_rate_limited": "Confluence kept rate-limiting the portal; try again later",
    "bundle_invalid": "fix the file named in the message, or leave it out with .mdignore or --exclude",
    "bundle_too_large": "publish fewer or smaller files at once (--exclude, .mdignore, or several folders)",
    "unsupported_media_type": "the portal did not accept the request's format; is this client older than the portal?",
    "not_found": "the portal has no such endpoint: check PORTAL_URL, or the portal is older than this client",
    "method_not_allowed": "the portal does not offer this operation: check PORTAL_URL and the portal's version",
    "internal_error": "the portal failed unexpectedly; quote the request or publication id to a portal admin",
    "network_error": "check PORTAL_URL and the network; the command can be run again safely",
    "drifted": "the page was edited in Confluence since the portal wrote it; --overwrite=force replaces the edit",
}


# The same codes about the files a page carries (the portal's error names the field "attachments").
ATTACHMENT_HINTS: dict[str, str] = {
    "content_too_large": "the page's files are more than the portal takes at once (IMPORT_MAX_ATTACHMENT_BYTES, or "
    "100 files): make them smaller, refer to fewer, or leave some out with .mdignore or --exclude",
    "invalid_request": "the portal did not take one of the page's files (the message names it); rename it, or leave "
    "it out with .mdignore or --exclude",
}


class ClientError(Exception):
    """A failure the command reports in one line and turns into an exit code."""

    def __init__(self, code: str, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code if exit_code is not None else exit_code_for(code)

    def hint(self) -> str | None:
        return HINTS.get(self.code)

    def one_line(self) -> str:
        hint = self.hint()
        if hint is None and self.code.startswith("http_"):
            hint = "check PORTAL_URL: it is the portal's address, e.g. https://portal.example.com"
        text = " ".join(self.message.split())
        return f"{self.code}: {text}" + (f" ({hint})" if hint and hint not in text else "")

    def as_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class UsageError(ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("usage", message, exit_code=EXIT_USAGE)

    def one_line(self) -> str:
        return self.message


class ApiError(ClientError):
    """An answer of the portal in its error shape (or, behind a proxy, something that is not the portal's)."""

    def __init__(
        self, code: str, message: str, *, status: int, request_id: str | None = None, body: dict | None = None
    ) -> None:
        # Whatever its code, a 5xx or 429 is the server's trouble, not the command's: exit 1, try again later.
        super().__init__(code, message, exit_code=EXIT_PAGES_FAILED if status >= 500 or status == 429 else None)
        self.status = status
        self.request_id = request_id
        self.body = body or {}

    def hint(self) -> str | None:
        error = self.body.get("error")
        if isinstance(error, dict) and error.get("field") == "attachments" and self.code in ATTACHMENT_HINTS:
            return ATTACHMENT_HINTS[self.code]
        return super().hint()

    def one_line(self) -> str:
        line = f"HTTP {self.status} {super().one_line()}"
        return line + (f" [request {self.request_id}]" if self.request_id else "")

    def as_json(self) -> dict[str, Any]:
        if self.body.get("error"):
            return self.body
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


class NetworkError(ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("network_error", message)


def exit_code_for(code: str) -> int:
    return EXIT_PAGES_FAILED if code in PAGE_CODES or code in TRANSIENT_CODES else EXIT_USAGE

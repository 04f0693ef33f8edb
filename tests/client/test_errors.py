"""Every error code of the API (../shared/API.md and the publications contract) reads as one line that says what to
do, and ends the command with the documented exit code."""

from __future__ import annotations

import pytest
from portal_publish.errors import HINTS, ApiError

CONTRACT = [
    # (status, code, exit code): 2 = change the command, token or configuration; 1 = pages failed, or try later.
    (400, "invalid_request", 2), (400, "content_empty", 1), (400, "title_invalid", 1), (400, "labels_invalid", 1),
    (400, "bundle_invalid", 2), (401, "token_missing", 2), (401, "token_invalid", 2), (401, "token_expired", 2),
    (401, "token_revoked", 2), (403, "space_forbidden", 2), (404, "space_not_found", 2), (404, "parent_not_found", 2),
    (404, "import_not_found", 2), (404, "publication_not_found", 2), (409, "title_exists", 1),
    (409, "idempotency_conflict", 2), (409, "import_in_progress", 1), (413, "content_too_large", 1),
    (413, "bundle_too_large", 2), (415, "unsupported_media_type", 2), (429, "rate_limited", 1),
    (502, "confluence_rejected", 1), (502, "confluence_auth_failed", 1), (503, "confluence_unavailable", 1),
    (503, "confluence_rate_limited", 1), (500, "internal_error", 1), (404, "not_found", 2),
    (405, "method_not_allowed", 2),
]


@pytest.mark.parametrize(("status", "code", "exit_code"), CONTRACT)
def test_every_code_is_one_line_with_what_to_do_and_its_exit_code(status, code, exit_code):
    error = ApiError(code, "The portal's message,\nover two lines.", status=status, request_id="abc123")
    line = error.one_line()
    assert "\n" not in line
    assert line == f"HTTP {status} {code}: The portal's message, over two lines. ({HINTS[code]}) [request abc123]"
    assert error.exit_code == exit_code


def test_an_unknown_code_keeps_the_portals_message_and_a_5xx_is_worth_another_try():
    assert ApiError("new_code", "Something new.", status=400).exit_code == 2
    assert ApiError("new_code", "Something new.", status=503).exit_code == 1
    assert ApiError("new_code", "Something new.", status=400).one_line() == "HTTP 400 new_code: Something new."

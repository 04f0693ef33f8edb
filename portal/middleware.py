"""Request ids and the one access-log line per request."""

import logging
import re
import time
import uuid

from django.http import HttpRequest, HttpResponse

from portal.logging import current_request_id

logger = logging.getLogger("portal.request")

# A client-supplied id is echoed back and written to logs, so only short, plain values are kept;
# anything else (too long, spaces, control characters) is replaced rather than sanitised.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_from(request: HttpRequest) -> str:
    supplied = request.headers.get("X-Request-ID", "")
    if _SANE_REQUEST_ID.match(supplied):
        return supplied
    return uuid.uuid4().hex


def _loggable(path: str) -> str:
    # A decoded path can hold newlines or escapes; keep the access log one line per request.
    if not path.isprintable():
        path = path.encode("unicode_escape").decode("ascii")
    return path[:300]


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_from(request)
        context_token = current_request_id.set(request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            # The path only: query strings and bodies may carry secrets and are never logged.
            logger.info(
                "%s %s %s %.1fms",
                request.method,
                _loggable(request.path),
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            return response
        finally:
            current_request_id.reset(context_token)

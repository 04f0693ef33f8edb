"""The cache is an optimisation: when it is down, the portal goes on without it.

The failed-authentication throttle and the admin's double-submit guard read and write the cache. A Redis or
memcached that stops answering must not turn every request into a 500, so those calls go through
``cache_call()``: a failure answers the caller's default, logs one warning a minute, and the cache is left alone
for ``RETRY_AFTER`` seconds (a host that drops packets would otherwise cost a connect timeout per request).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache import cache

logger = logging.getLogger("portal.cache")

RETRY_AFTER = 10.0
WARN_EVERY = 60.0

_lock = threading.Lock()
_down_until = 0.0
_last_warning = 0.0


def cache_call(method: str, *args: Any, default: Any = None, **kwargs: Any) -> Any:
    """``cache.<method>(*args, **kwargs)``, or ``default`` while the cache is unreachable."""
    global _down_until, _last_warning
    if _down_until and time.monotonic() < _down_until:
        return default
    try:
        return getattr(cache, method)(*args, **kwargs)
    except ValueError:  # an answer, not an outage: incr() of a missing key
        raise
    except Exception as error:  # every backend has its own connection errors (redis, pymemcache, the database)
        now = time.monotonic()
        with _lock:
            _down_until = now + RETRY_AFTER
            warn = now - _last_warning >= WARN_EVERY or not _last_warning
            if warn:
                _last_warning = now
        if warn:
            # The class and message only: connection errors name the host and port, never the URL's password.
            logger.warning(
                "cache unavailable (%s: %s); going on without it, throttles are not counted meanwhile",
                type(error).__name__,
                str(error)[:200],
            )
        return default


def cache_reset_state() -> None:
    """Forget an outage (tests, and a process that knows the cache is back)."""
    global _down_until, _last_warning
    with _lock:
        _down_until = _last_warning = 0.0

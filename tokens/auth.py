"""Bearer-token authentication for the API: `Authorization: Bearer mdi_…`.

Per request: a format check (no database), one indexed query by the secret's hash (with the instance and
its license), and at most one UPDATE a minute for `last_used_at`. Revocation is read from the database on
every request, so it takes effect at once on every app process. Failures are counted per client address
in the cache (shared between processes when CACHE_URL is), and an address with too many is refused with
429 before its token is even looked at, so guessing stays slow.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from portal.cache import cache_call
from portal.http import client_ip
from tokens import secret as token_secret
from tokens.models import Token
from tokens.selectors import token_with_instance

logger = logging.getLogger("tokens.auth")

LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
FAILURE_WINDOW_SECONDS = 60


def failures_allowed_per_minute() -> int:
    return int(getattr(settings, "TOKEN_AUTH_FAILURES_PER_MINUTE", 20))


class TokenMissing(exceptions.NotAuthenticated):
    portal_code = "token_missing"
    default_detail = "Send the token as 'Authorization: Bearer <token>'."


class TokenRefused(exceptions.AuthenticationFailed):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.portal_code = code


class AuthRateLimited(exceptions.Throttled):
    portal_code = "rate_limited"

    def __init__(self, wait: float) -> None:
        super().__init__(wait=wait, detail=f"Too many failed authentications from your address; try again in {int(wait + 0.999)} s.")


def _window() -> tuple[str, float]:
    now = time.time()
    window = int(now // FAILURE_WINDOW_SECONDS)
    return str(window), FAILURE_WINDOW_SECONDS - (now % FAILURE_WINDOW_SECONDS)


def _failure_key(address: str, window: str) -> str:
    return f"tokens:auth-failures:{address}:{window}"


def _check_throttle(address: str) -> None:
    window, remaining = _window()
    # With the cache down the count reads 0: authentication goes on, unthrottled, rather than failing.
    if (cache_call("get", _failure_key(address, window)) or 0) >= failures_allowed_per_minute():
        raise AuthRateLimited(wait=remaining)


def _record_failure(address: str) -> None:
    window, _ = _window()
    key = _failure_key(address, window)
    # add() then incr(): atomic on memcached/redis/locmem, so processes sharing the cache count together.
    cache_call("add", key, 0, timeout=FAILURE_WINDOW_SECONDS * 2)
    try:
        cache_call("incr", key)
    except ValueError:  # expired between add() and incr()
        cache_call("set", key, 1, timeout=FAILURE_WINDOW_SECONDS * 2)


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates with a portal token; `request.user` stays None and `request.auth` is the Token."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[None, Token] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            # Not ours (or absent): HasToken answers token_missing.
            return None
        address = client_ip(request._request)
        _check_throttle(address)
        try:
            return None, self._token_for(header)
        except TokenRefused as refusal:
            _record_failure(address)
            logger.info("token refused (%s) from %s", refusal.portal_code, address)
            raise

    def _token_for(self, header: list[bytes]) -> Token:
        if len(header) != 2:
            raise TokenRefused("The Authorization header must be 'Bearer <token>', with one token.", "token_invalid")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise TokenRefused("The token is not a portal token.", "token_invalid") from None
        if not token_secret.is_well_formed(raw):
            raise TokenRefused("The token is not a portal token (wrong format or checksum).", "token_invalid")
        # The license is not read here: a token issued under a license keeps working after it lapses.
        token = token_with_instance(token_secret.hash_of(raw))
        if token is None:
            raise TokenRefused("The token is not known.", "token_invalid") from None
        now = timezone.now()
        if token.revoked_at is not None:
            raise TokenRefused("The token has been revoked.", "token_revoked")
        if token.expires_at <= now:
            raise TokenRefused(f"The token expired at {token.expires_at:%Y-%m-%dT%H:%M:%SZ}.", "token_expired")
        self._touch(token, now)
        return token

    @staticmethod
    def _touch(token: Token, now: dt.datetime) -> None:
        """Write last_used_at at most once a minute: the read decides whether to try, and the conditional
        UPDATE decides who wins when several processes try at once (no read-modify-write)."""
        cutoff = now - LAST_USED_RESOLUTION
        if token.last_used_at is not None and token.last_used_at >= cutoff:
            return
        updated = (
            Token.objects.filter(pk=token.pk)
            .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff))
            .update(last_used_at=now)
        )
        if updated:
            token.last_used_at = now

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class HasToken(BasePermission):
    """The request authenticated with a portal token (`request.auth` is a Token)."""

    message = TokenMissing.default_detail

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, Token):
            return True
        # Raised here rather than returned False so the 401 says what to send, not DRF's generic text.
        raise TokenMissing()

"""What the portal needs to know about the HTTP client behind a request."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _ip_or_none(value: str) -> str | None:
    value = value.strip()
    # Some proxies append the port: "203.0.113.7:51234" or "[2001:db8::1]:443".
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The address of the client, as far as the configured proxies vouch for it.

    With TRUSTED_PROXY_HOPS = 0 only the socket's peer (REMOTE_ADDR) is trusted: any X-Forwarded-For the
    client sends is ignored, so it cannot pick its own address to dodge a throttle. With N hops, each of
    the N proxies appended the address it saw, so the Nth entry from the right is the one the outermost
    trusted proxy saw; entries further left were written by the client and are not believed.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    hops = int(getattr(settings, "TRUSTED_PROXY_HOPS", 0) or 0)
    if hops <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        # A proxy that should have set the header did not: the peer is the best we know.
        return remote
    # Fewer entries than hops means fewer proxies than configured; the leftmost entry was then still
    # written by one of ours, so it is the best address we have.
    candidate = forwarded[-hops] if len(forwarded) >= hops else forwarded[0]
    return _ip_or_none(candidate) or remote


def client_ip_address(request: HttpRequest) -> str | None:
    """``client_ip()`` when it is an IP address (a unix socket gives ""), for columns that only take one."""
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None


def content_length(request: HttpRequest) -> int | None:
    """The request's declared body length, or None when absent or not a number."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None

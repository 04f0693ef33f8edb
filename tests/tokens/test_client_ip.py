"""client_ip believes X-Forwarded-For only as far as the configured proxies vouch for it."""

import pytest
from django.test import RequestFactory, override_settings

from portal.http import client_ip


def request(remote="10.0.0.5", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@override_settings(TRUSTED_PROXY_HOPS=0)
def test_without_proxies_the_header_is_ignored():
    assert client_ip(request(forwarded="1.2.3.4")) == "10.0.0.5"


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client prepended a forged entry
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (1, "203.0.113.7:51234", "203.0.113.7"),
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (2, "203.0.113.7", "203.0.113.7"),  # fewer entries than hops: the leftmost, written by our proxy
        (1, "not-an-address", "10.0.0.5"),
        (1, "", "10.0.0.5"),
    ],
)
def test_the_nth_entry_from_the_right_is_the_client(hops, forwarded, expected):
    with override_settings(TRUSTED_PROXY_HOPS=hops):
        assert client_ip(request(forwarded=forwarded)) == expected

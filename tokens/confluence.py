"""The Confluence client of an instance, one per instance per process.

One pooled HTTP session per instance: imports reuse its connections (and its cache of space ids), so a
typical import costs only the calls it must make. A changed instance (new URL or token) gets a new client.
"""

import threading

from django.conf import settings

from confluence.client import ConfluenceClient

from .models import Instance

_clients: dict[int, tuple[object, ConfluenceClient]] = {}
_lock = threading.Lock()


def build_client(instance: Instance, **overrides) -> ConfluenceClient:
    """A new client with the instance's credentials (decrypted here, and kept only inside the client).

    The one constructor: imports and syncs reach it through ``client_for()``, the admin's Test connection
    calls it directly with shorter limits. Raises ``SecretUnreadable`` when the stored token cannot be decrypted.
    """
    secret = instance.api_token()
    options = {
        "base_url": instance.base_url,
        "cloud_id": instance.cloud_id or None,
        "connect_timeout": settings.CONFLUENCE_CONNECT_TIMEOUT,
        "read_timeout": settings.CONFLUENCE_READ_TIMEOUT,
        "deadline": settings.CONFLUENCE_DEADLINE,
    }
    if instance.auth_type == Instance.AuthType.BEARER:
        options["bearer_token"] = secret
    else:
        options.update(email=instance.email, api_token=secret)
    options.update(overrides)
    return ConfluenceClient(**options)


def client_for(instance: Instance) -> ConfluenceClient:
    version = (instance.updated_at, instance.base_url, instance.api_token_encrypted, instance.cloud_id)
    with _lock:
        cached = _clients.get(instance.pk)
        if cached and cached[0] == version:
            return cached[1]
    client = build_client(instance)
    with _lock:
        previous = _clients.get(instance.pk)
        _clients[instance.pk] = (version, client)
    if previous and previous[1] is not client:
        previous[1].close()
    return client

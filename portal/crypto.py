"""Encryption at rest for the few secrets the portal must be able to read back (Atlassian API tokens).

Fernet (AES-128-CBC + HMAC-SHA256, from the `cryptography` package) with the keys of
FIELD_ENCRYPTION_KEY: several comma-separated keys rotate, the first encrypts and all decrypt.
Without that variable the key is derived from SECRET_KEY, so a development install needs no set-up;
production should set its own key so that SECRET_KEY can rotate without losing the stored tokens.
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """The stored ciphertext cannot be decrypted with any configured key."""


@functools.cache
def _fernet() -> MultiFernet:
    raw_keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEY.split(",") if k.strip()]
    if not raw_keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal field encryption").derive(
            settings.SECRET_KEY.encode()
        )
        raw_keys = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return MultiFernet([Fernet(key) for key in raw_keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), comma-separated."
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable("the stored secret cannot be decrypted with the configured FIELD_ENCRYPTION_KEY") from exc

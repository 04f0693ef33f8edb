"""The token format: `mdi_` + 43 base62 characters from `secrets` (256 bits) + a 6-character checksum.

The prefix lets secret scanners (and people) recognise a leaked token; the checksum (CRC32 of the rest,
in base62) lets the portal refuse a mistyped or truncated token without touching the database, and
lets scanners tell a real token from random text.

Only a SHA-256 of the token is stored. A slow password hash (bcrypt, PBKDF2) protects low-entropy
passwords against guessing after a database leak; a 256-bit random secret cannot be guessed from its
SHA-256 anyway, and a slow hash would cost every API request tens of milliseconds. An unsalted hash
also lets authentication find the token with one indexed equality lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import zlib

PREFIX = "mdi_"
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
BODY_LENGTH = 43  # 43 * log2(62) = 256.03 bits
CHECKSUM_LENGTH = 6  # 62**6 > 2**32: room for a whole CRC32
TOKEN_LENGTH = len(PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH

_SHAPE = re.compile(rf"^{PREFIX}[0-9A-Za-z]{{{BODY_LENGTH + CHECKSUM_LENGTH}}}$")


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def _checksum(text: str) -> str:
    return _base62(zlib.crc32(text.encode("ascii")), CHECKSUM_LENGTH)


def generate() -> str:
    body = PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + _checksum(body)


def is_well_formed(token: str) -> bool:
    """Prefix, length, alphabet and checksum: everything that can be checked without the database."""
    if len(token) != TOKEN_LENGTH or not _SHAPE.match(token):
        return False
    return secrets.compare_digest(token[-CHECKSUM_LENGTH:], _checksum(token[:-CHECKSUM_LENGTH]))


def hash_of(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def hint_of(token: str) -> str:
    """Enough to recognise a token in a list (`mdi_AbCd…9xYz`), far too little to use it."""
    return f"{token[: len(PREFIX) + 4]}…{token[-4:]}"

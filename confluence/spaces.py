"""What Confluence accepts as a space key and as an id: one definition for every door a key comes through
(a token's allowed spaces, an import's or a publication's `spaceId`).

A global space's key is letters and digits only (Atlassian: "alphanumeric characters", up to 255); a personal
space's key is "~" and the owner's id. An underscore is refused: Confluence would refuse it too, so accepting it
here would only turn a clear 400 into a confusing "space not found".
"""

from __future__ import annotations

import re

_SPACE_KEY = re.compile(r"^~?[A-Za-z0-9]{1,255}$")
_NUMERIC_ID = re.compile(r"^[0-9]{1,20}$")


def is_space_key(value: str) -> bool:
    return bool(_SPACE_KEY.match(value))


def is_numeric_id(value: str) -> bool:
    """A page or space id: Confluence's ids are decimal numbers (64-bit)."""
    return bool(_NUMERIC_ID.match(value))

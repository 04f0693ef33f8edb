"""What a fenced block becomes: the code macro, or the macro its info word names (``noformat``)."""

from __future__ import annotations

import xml.etree.ElementTree as etree

from ._macros import code_macro, macro
from ._math import math_block
from ._state import ConversionState


def info_word(info: str) -> str:
    """The first word of a fence's info string, as ``confluence_language`` reads it."""
    word = info.strip().split(None, 1)[0] if info.strip() else ""
    return word.strip("{}").lstrip(".").lower()


def fence_element(info: str, code: str, state: ConversionState) -> etree.Element:
    word = info_word(info) if info else ""
    if word == "noformat":
        # Confluence's preformatted box without highlighting or a language badge.
        return macro("noformat", plain_body=code)[0]
    if word == "math":
        # GitHub's ```math fence, and the $$ blocks extract_fences lifts out under this name.
        return math_block(code, state)
    return code_macro(code, info)

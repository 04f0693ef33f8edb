"""Inline status lozenges: ``{status:green|Done}``, after Confluence's own wiki markup
``{status:colour=Green|title=Done|subtle=true}`` (both spellings are read)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown.inlinepatterns import InlineProcessor

from ._macros import macro
from ._state import ConversionState

STATUS_RE = r"\{status:([^{}\n]{0,200})\}"
# The status macro's colours; any other makes Confluence show a grey lozenge named after it.
COLOURS = {name.lower(): name for name in ("Grey", "Red", "Yellow", "Green", "Blue", "Purple")}
COLOURS["gray"] = "Grey"


class StatusProcessor(InlineProcessor):
    def __init__(self, pattern: str, state: ConversionState) -> None:
        super().__init__(pattern)
        self.state = state

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element | None, int | None, int | None]:
        colour, title, subtle = "", "", False
        bare: list[str] = []
        # In a table cell the separator is escaped: {status:green\|Done}.
        for part in m.group(1).replace("\\|", "|").split("|"):
            key, equals, value = part.partition("=")
            key = key.strip().lower()
            if equals and key in ("colour", "color", "title", "subtle"):
                if key == "title":
                    title = value.strip()
                elif key == "subtle":
                    subtle = value.strip().lower() == "true"
                else:
                    colour = value.strip()
            elif part.strip().lower() in ("subtle", "outline"):
                subtle = True
            else:
                bare.append(part.strip())
        if bare:
            colour = colour or bare.pop(0)
        if bare:
            title = title or "|".join(bare)
        name = COLOURS.get(colour.lower())
        if name is None:
            self.state.warnings.append(
                f"status {m.group(0)!r} kept as text: its colour must be one of {', '.join(sorted(set(COLOURS.values())))}"
            )
            return None, None, None
        parameters = {"colour": name, "title": title or name}
        if subtle:
            parameters["subtle"] = "true"
        element, _ = macro("status", parameters)
        return element, m.start(), m.end()

"""Our own XHTML serializer. Python-Markdown's serializer writes HTML (void tags without a
slash, entities like ``&nbsp;`` passed through, stashed raw HTML pasted back verbatim); storage
format is XML, so every character here is escaped by us and only elements built by the
converter are written."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable

from markdown.util import HTML_PLACEHOLDER_RE

from ._macros import CDATA_TAGS
from ._text import cdata, clean_text, escape_attribute, escape_text

_PLACEHOLDER = re.compile("\x02([^\x02\x03]*)\x03")
# Placeholders the footnotes extension leaves for its postprocessor, which we do not run.
_FIXED = {"zz1337820767766393qq": "\u21a9", "qq3936677670287331zz": "\u00a0"}
_VOID = frozenset({"br", "hr", "img", "col"})


def make_placeholder_resolver(stash: list[object]) -> Callable[[re.Match[str]], str]:
    def resolve(match: re.Match[str]) -> str:
        key = match.group(1)
        fixed = _FIXED.get(key)
        if fixed is not None:
            return fixed
        stashed = HTML_PLACEHOLDER_RE.fullmatch(match.group())
        if stashed is not None:
            index = int(stashed.group(1))
            if index < len(stash):
                raw = stash[index]
                # The only stashed strings left are character entities (the inline-HTML and
                # HTML-block passthroughs are disabled); decode them to characters.
                text = raw if isinstance(raw, str) else "".join(raw.itertext())  # type: ignore[attr-defined]
                return clean_text(html.unescape(text))
        if key.isdigit():
            return clean_text(chr(int(key))) if int(key) < 0x110000 else ""
        return ""

    return resolve


def serialize(root: etree.Element, stash: list[object]) -> str:
    resolve = make_placeholder_resolver(stash)
    out: list[str] = []
    append = out.append

    def write(element: etree.Element) -> None:
        tag = element.tag
        if not isinstance(tag, str):
            # Comments or processing instructions never reach the page.
            tail = element.tail
            if tail:
                append(escape_text(_PLACEHOLDER.sub(resolve, tail) if "\x02" in tail else tail))
            return
        # items(), not .attrib: reading .attrib gives an attribute-less element a dict of its own.
        items = element.items()
        if items:
            attributes = "".join(
                f' {name}="{escape_attribute(text_value(value))}"' for name, value in items if value is not None
            )
            opening = f"<{tag}{attributes}>"
        else:
            attributes = ""
            opening = f"<{tag}>"
        if tag in CDATA_TAGS:
            append(f"{opening}{cdata(text_value(element.text or ''))}</{tag}>")
        elif tag in _VOID:
            append(f"<{tag}{attributes}/>")
        else:
            append(opening)
            # Placeholders are resolved and the text escaped inline: this runs for every
            # text and tail of the page.
            text = element.text
            if text:
                append(escape_text(_PLACEHOLDER.sub(resolve, text) if "\x02" in text else text))
            for child in element:
                write(child)
            append(f"</{tag}>")
        tail = element.tail
        if tail:
            append(escape_text(_PLACEHOLDER.sub(resolve, tail) if "\x02" in tail else tail))

    def text_value(value: str) -> str:
        return _PLACEHOLDER.sub(resolve, value) if "\x02" in value else value

    for child in root:
        write(child)
        append("\n")
    body = "".join(out).strip("\n")
    if "\x02" in body or "\x03" in body:
        # Placeholder delimiters are not XML characters; none should survive, and if a
        # Python-Markdown extension ever leaves one behind it must not break the page.
        body = body.replace("\x02", "").replace("\x03", "")
    return body

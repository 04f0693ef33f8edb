"""Front matter: a leading ``---`` … ``---`` block of simple ``key: value`` lines.

Only the YAML subset people put in front matter is understood — scalars, ``key: [a, b]`` flow
lists, ``- item`` block lists, and one level of mapping (``properties:`` followed by indented
``key: value`` lines, or ``{key: value}``) — so no YAML dependency is needed and no YAML feature
(tags, anchors, arbitrary objects) can surprise the import. Lines outside that subset are ignored.

The keys peers honour (md2conf, mark, sphinx-confluencebuilder) are read by ``page_settings``:
``title``, ``labels``/``tags``, ``properties``, ``layout``/``width``, ``parent``, ``weight``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A byte-order mark is removed by convert() before the front matter is looked for.
_OPENING = re.compile(r"\A---[ \t]*\n")
_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_KEY_VALUE = re.compile(r"^([A-Za-z_][\w.\-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*$")
_LIST_ITEM = re.compile(r"^[ \t]+-[ \t]+(.*?)[ \t]*$|^-[ \t]+(.*?)[ \t]*$")
_NESTED_KEY_VALUE = re.compile(r"^[ \t]+([A-Za-z_][\w.\-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*$")

FrontMatterValue = str | list[str] | dict[str, str]


def split_front_matter(text: str) -> tuple[dict[str, FrontMatterValue], str]:
    """Return (metadata, body). Text without a closed front-matter block is returned unchanged."""
    opening = _OPENING.match(text)
    if opening is None:
        return {}, text
    closing = _CLOSING.search(text, opening.end())
    if closing is None:
        return {}, text
    metadata = parse_front_matter(text[opening.end() : closing.start()])
    # Keep the line count of the body's first line irrelevant: the block simply disappears.
    return metadata, text[closing.end() :].lstrip("\n")


def parse_front_matter(block: str) -> dict[str, FrontMatterValue]:
    metadata: dict[str, FrontMatterValue] = {}
    # The key whose value is given on the following lines ("key:" alone), and the list or mapping
    # they have made so far.
    open_key: str | None = None
    for line in block.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if open_key is not None:
            value = metadata[open_key]
            item = _LIST_ITEM.match(line)
            if item is not None and isinstance(value, list):
                value.append(_scalar(item.group(1) if item.group(1) is not None else item.group(2)))
                continue
            nested = _NESTED_KEY_VALUE.match(line)
            if nested is not None and (isinstance(value, dict) or value == []):
                if not isinstance(value, dict):
                    value = metadata[open_key] = {}
                value[nested.group(1)] = _scalar(nested.group(2) or "")
                continue
        pair = _KEY_VALUE.match(line)
        if pair is None:
            open_key = None
            continue
        key, raw = pair.group(1), pair.group(2)
        open_key = None
        if raw is None or raw == "":
            # "key:" with nothing after it opens a block list or mapping; it stays an empty list if
            # nothing follows.
            metadata[key] = []
            open_key = key
        elif raw.startswith("[") and raw.endswith("]"):
            metadata[key] = [_scalar(part) for part in _split_flow(raw[1:-1])]
        elif raw.startswith("{") and raw.endswith("}"):
            mapping: dict[str, str] = {}
            for part in _split_flow(raw[1:-1]):
                name, colon, value_text = part.partition(":")
                if colon and name.strip():
                    mapping[_scalar(name)] = _scalar(value_text)
            metadata[key] = mapping
        else:
            metadata[key] = _scalar(raw)
    return metadata


def _split_flow(inner: str) -> list[str]:
    """Split ``a, "b, c", d`` on commas outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in inner:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
            current.append(char)
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _scalar(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    # An unquoted " #" starts a YAML comment.
    comment = raw.find(" #")
    return raw[:comment].rstrip() if comment >= 0 else raw


def labels_from(metadata: dict[str, FrontMatterValue]) -> list[str]:
    """Labels as a list: ``labels: [a, b]``, a block list, or ``labels: a, b``; ``tags`` (MkDocs,
    Jekyll, Hugo) likewise, after them."""
    labels: list[str] = []
    for key in ("labels", "tags"):
        raw = metadata.get(key)
        if raw is None or isinstance(raw, dict):
            continue
        items = raw if isinstance(raw, list) else raw.split(",")
        for item in items:
            label = item.strip()
            if label and label not in labels:
                labels.append(label)
    return labels


# Confluence keeps a page's width in two content properties (the editor's draft and the published
# page), each "full-width" or "fixed-width" (what sphinx-confluencebuilder and Confluence's editor write).
APPEARANCE_PROPERTIES = ("content-appearance-draft", "content-appearance-published")
_FULL_WIDTH = frozenset({"full-width", "full", "wide", "max", "fluid"})
_FIXED_WIDTH = frozenset({"fixed-width", "fixed", "default", "narrow", "normal", "centered"})


@dataclass(frozen=True)
class PageSettings:
    properties: dict[str, str]
    appearance: str | None
    parent: str | None
    weight: int | None
    warnings: list[str]


def page_settings(metadata: dict[str, FrontMatterValue]) -> PageSettings:
    """What the front matter asks of the page beyond its title and labels: content properties,
    width (``layout``/``width``: ``full-width``/``wide`` or ``fixed-width``/``default``), the parent page
    (a title) and the ordering weight among siblings. A value not understood is left out, with a warning."""
    warnings: list[str] = []
    raw_properties = metadata.get("properties")
    properties: dict[str, str] = {}
    if isinstance(raw_properties, dict):
        properties = {key: value for key, value in raw_properties.items() if value != ""}
    elif raw_properties is not None and raw_properties != []:
        warnings.append("front matter: properties must be indented 'key: value' lines under 'properties:'")
    appearance = None
    for key in ("layout", "width"):
        raw = metadata.get(key)
        if raw is None:
            continue
        value = raw.strip().lower() if isinstance(raw, str) else ""
        if value in _FULL_WIDTH or value in _FIXED_WIDTH:
            appearance = "full-width" if value in _FULL_WIDTH else "fixed-width"
            break
        if key == "width":
            # An unknown "layout" is usually a site generator's template name (Jekyll's "post"), not a width.
            warnings.append(f"front matter: width {raw!r} is not a page width; use full-width or fixed-width")
    raw_parent = metadata.get("parent")
    parent = raw_parent.strip() if isinstance(raw_parent, str) and raw_parent.strip() else None
    raw_weight = metadata.get("weight")
    weight = None
    if raw_weight is not None:
        if isinstance(raw_weight, str) and re.fullmatch(r"[+-]?\d{1,9}", raw_weight.strip()):
            weight = int(raw_weight)
        else:
            warnings.append(f"front matter: weight {raw_weight!r} is not a whole number")
    return PageSettings(properties, appearance, parent, weight, warnings)

"""Front matter: a leading ``---`` … ``---`` block of simple ``key: value`` lines.

Only the YAML subset people put in front matter is understood — scalars, ``key: [a, b]`` flow
lists and ``- item`` block lists — so no YAML dependency is needed and no YAML feature (tags,
anchors, arbitrary objects) can surprise the import. Lines outside that subset are ignored.
"""

from __future__ import annotations

import re

# A byte-order mark is removed by convert() before the front matter is looked for.
_OPENING = re.compile(r"\A---[ \t]*\n")
_CLOSING = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_KEY_VALUE = re.compile(r"^([A-Za-z_][\w.\-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*$")
_LIST_ITEM = re.compile(r"^[ \t]+-[ \t]+(.*?)[ \t]*$|^-[ \t]+(.*?)[ \t]*$")

FrontMatterValue = str | list[str]


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
    open_list: list[str] | None = None
    for line in block.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = _LIST_ITEM.match(line)
        if item is not None and open_list is not None:
            open_list.append(_scalar(item.group(1) if item.group(1) is not None else item.group(2)))
            continue
        pair = _KEY_VALUE.match(line)
        if pair is None:
            open_list = None
            continue
        key, raw = pair.group(1), pair.group(2)
        if raw is None or raw == "":
            # "key:" with nothing after it opens a block list; it stays empty if no items follow.
            open_list = []
            metadata[key] = open_list
        elif raw.startswith("[") and raw.endswith("]"):
            metadata[key] = [_scalar(part) for part in _split_flow(raw[1:-1])]
            open_list = None
        else:
            metadata[key] = _scalar(raw)
            open_list = None
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
    """Labels as a list: ``labels: [a, b]``, a block list, or ``labels: a, b``."""
    raw = metadata.get("labels")
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else raw.split(",")
    labels: list[str] = []
    for item in items:
        label = item.strip()
        if label and label not in labels:
            labels.append(label)
    return labels

"""Compare storage format by meaning: wrap in a root declaring the ac/ri namespaces, then
canonicalise (attribute order, CDATA vs text, whitespace at the edges of text)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from confluence.converter import convert

NAMESPACES = 'xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource/identifier"'


def wrap(body: str) -> str:
    return f"<root {NAMESPACES}>{body}</root>"


def parse(body: str) -> ElementTree.Element:
    """Parse a storage body; raises ParseError if it is not well-formed."""
    return ElementTree.fromstring(wrap(body))  # noqa: S314 - our own output, not untrusted XML


def canonical(body: str) -> str:
    return ElementTree.canonicalize(wrap(body), strip_text=True)


def storage(markdown: str, **options: object) -> str:
    """The canonical storage format of a Markdown text."""
    return canonical(convert(markdown, **options).body)  # type: ignore[arg-type]


def assert_converts(markdown: str, expected: str, **options: object) -> None:
    assert storage(markdown, **options) == canonical(expected)

"""The hook through which a caller that knows more than one page (a publication of a whole tree) tells the converter
where relative links and images lead. Without a resolver the converter leaves them as it always has."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from ._storage import anchor_name


@dataclass(frozen=True)
class PageLink:
    """A link to another Confluence page, by title. ``anchor`` is the fragment as the Markdown link wrote it
    ("install" of "setup.md#install"); the converter names it as the target page plants it."""

    title: str
    space_key: str | None = None
    anchor: str | None = None


@dataclass(frozen=True)
class AttachmentLink:
    """A link to a file attached to this page."""

    filename: str


@dataclass(frozen=True)
class TextOnly:
    """A link that leads nowhere the reader can follow: only its text is kept."""


LinkTarget = PageLink | AttachmentLink | TextOnly


class Resolver(Protocol):
    def link(self, href: str) -> LinkTarget | None:
        """Where a link that is neither absolute nor "#…" leads; None keeps it as the converter writes it."""
        ...

    def image(self, src: str) -> str | None:
        """The attachment file name for a relative image source (as written, unquoted); None when there is no such
        file, and the image becomes its alternative text."""
        ...

    def wanted_anchors(self) -> Collection[str]:
        """Fragments other pages link to on this page ("install"): an anchor is planted at each such target."""
        ...


__all__ = ["AttachmentLink", "LinkTarget", "PageLink", "Resolver", "TextOnly", "anchor_name"]

"""Markdown to Confluence storage format.

``convert()`` is the one entry point: it takes the Markdown people write (GitHub habits
included) and returns storage-format XHTML that is well-formed for any input, plus the front
matter and the attachments the page refers to. It is pure and safe to call from many threads.
"""

from .core import Converted, convert
from .resolve import AttachmentLink, LinkTarget, PageLink, Resolver, TextOnly

__all__ = ["AttachmentLink", "Converted", "LinkTarget", "PageLink", "Resolver", "TextOnly", "convert"]

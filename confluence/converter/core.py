"""The conversion pipeline: clean → front matter → fences → details → lists → Python-Markdown
blocks and inlines → storage rewrite → title dedupe → XHTML serialisation."""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field

from ._blocks import extract_fences, mark_details, normalise_lists, separate_tables
from ._pipeline import build_markdown
from ._serialize import serialize
from ._state import ConversionState
from ._storage import StorageRewriter, heading_text
from ._text import clean_text
from .front_matter import FrontMatterValue, labels_from, split_front_matter
from .resolve import Resolver

# Starting with the newline, not a look-behind: the regex engine then skips to each newline
# instead of trying every position.
_WHITESPACE_ONLY_LINES = re.compile(r"\n +(?=\n)")


@dataclass(frozen=True)
class Converted:
    body: str
    title: str | None = None
    labels: list[str] = field(default_factory=list)
    metadata: dict[str, FrontMatterValue] = field(default_factory=dict)
    attachments: list[str] = field(default_factory=list)


def convert(
    markdown_text: str, *, title: str | None = None, keep_title: bool = False, resolve: Resolver | None = None
) -> Converted:
    """Convert Markdown to Confluence storage format.

    ``title`` is the page title; when it is not given, the front matter's ``title`` is used.
    A first level-1 heading equal to that title is dropped (Confluence already shows the title)
    unless ``keep_title`` is true. ``resolve`` turns relative links and images into page links
    and attachments (see resolve.py); without it they stay as written.
    """
    # A byte-order mark (editors on Windows write one) would keep the first line from being read
    # as a heading or the front matter's opening.
    metadata, text = split_front_matter(clean_text(markdown_text.removeprefix("\ufeff")))
    raw_title = metadata.get("title")
    front_matter_title = raw_title if isinstance(raw_title, str) and raw_title else None
    labels = labels_from(metadata)
    if not text.strip():
        return Converted("", front_matter_title, labels, metadata, [])

    # A fresh Markdown instance per call: Python-Markdown instances carry per-document state
    # (footnotes, reference links, the HTML stash), so sharing one between threads is unsafe.
    state = ConversionState()
    md = build_markdown(state)

    text = separate_tables(extract_fences(text, state))
    text = _WHITESPACE_ONLY_LINES.sub("\n", text.expandtabs(md.tab_length) + "\n\n")
    lines = normalise_lists(mark_details(text.split("\n"), state))
    for preprocessor in md.preprocessors:
        lines = preprocessor.run(lines)
    root = md.parser.parseDocument(lines).getroot()
    for treeprocessor in md.treeprocessors:
        replaced = treeprocessor.run(root)
        if replaced is not None:
            root = replaced

    page_title = title if title is not None else front_matter_title
    if page_title and not keep_title:
        # Before the rewrite, so no link is pointed at a heading that is not on the page.
        _drop_title_heading(root, page_title)
    StorageRewriter(state.attachments, resolve).run(root)

    body = serialize(root, md.htmlStash.rawHtmlBlocks)  # type: ignore[arg-type]
    return Converted(body, front_matter_title, labels, metadata, list(state.attachments))


def _drop_title_heading(root: etree.Element, page_title: str) -> None:
    # Compared without regard to case or spacing: "# Release notes" under the title "Release Notes"
    # would still show the same words twice.
    wanted = " ".join(page_title.split()).casefold()
    for child in root:
        if child.tag == "h1":
            if heading_text(child).casefold() == wanted:
                if child.tail and child.tail.strip():
                    previous = _previous_sibling(root, child)
                    if previous is None:
                        root.text = (root.text or "") + child.tail
                    else:
                        previous.tail = (previous.tail or "") + child.tail
                root.remove(child)
            return


def _previous_sibling(root: etree.Element, child: etree.Element) -> etree.Element | None:
    index = list(root).index(child)
    return root[index - 1] if index else None

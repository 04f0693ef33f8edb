"""The Python-Markdown instance we convert with: bundled extensions, our processors, and the raw
HTML passthrough replaced by the allow-list."""

from __future__ import annotations

import re
import string
import xml.etree.ElementTree as etree
from collections.abc import Callable

from markdown import Markdown
from markdown.blockprocessors import (
    BlockProcessor,
    CodeBlockProcessor,
    EmptyBlockProcessor,
    ListIndentProcessor,
)
from markdown.extensions.admonition import AdmonitionExtension
from markdown.extensions.def_list import DefListExtension, DefListIndentProcessor
from markdown.extensions.footnotes import NBSP_PLACEHOLDER, FootnoteExtension
from markdown.extensions.sane_lists import SaneListExtension, SaneOListProcessor, SaneUListProcessor
from markdown.extensions.tables import TableExtension
from markdown.inlinepatterns import (
    AUTOMAIL_RE,
    InlineProcessor,
    LinkInlineProcessor,
    SimpleTagInlineProcessor,
    SubstituteTagInlineProcessor,
)
from markdown.treeprocessors import Treeprocessor, UnescapeTreeprocessor
from markdown.util import AtomicString, Registry

from ._blocks import (
    STX,
    DetailsProcessor,
    FenceProcessor,
    HtmlBlockProcessor,
    ListAwareAdmonitionProcessor,
    ParagraphSetextProcessor,
    SeparateBlockQuoteProcessor,
    TocProcessor,
)
from ._brackets import BracketMatcher
from ._html import InlineHtmlProcessor
from ._inline import TriggeredInlineProcessor
from ._math import INLINE_MATH_RE, InlineMathProcessor
from ._state import ConversionState
from ._status import STATUS_RE, StatusProcessor

# Deeper block nesting is kept as literal text. Python-Markdown recurses a few frames per level
# of blockquote or list, so 500 levels would exhaust the interpreter's stack; nobody writes
# documents deeper than this on purpose.
MAX_BLOCK_DEPTH = 32

# The bundled extensions we build on; the benchmark compares against exactly these, with
# fenced_code standing in for our own fence handling.
BUNDLED_EXTENSIONS = ("tables", "footnotes", "def_list", "admonition", "sane_lists")

# ATX headings as GitHub reads them: up to three spaces of indentation, a space after the opening hashes ("#hashtag" and
# "#include" are text), and closing hashes only after a space ("# C#" keeps its hash),
# whatever spaces follow them ("## Title ##  ").
HASH_HEADER_RE = re.compile(
    r"(?:^|\n) {0,3}(?P<level>#{1,6})(?P<header>(?:[ \t]+(?:\\.|[^\\\n]|\\(?=\n|$))*?)?)"
    r"(?:(?:[ \t]+|(?<=[ \t]))#+)?[ \t]*(?:\n|$)"
)
# GitHub strikes through with one tilde or two on each side, the same number both times; a
# tilde next to a space opens or closes nothing ("cd ~/src and ~/bin" stays as written).
STRIKETHROUGH_RE = r"(?<!~)(~~?)(?![~\s])(.+?)(?<![~\s])\1(?!~)"
# Pandoc's and pymdownx's sub- and superscripts: H~2~O, 2^10^ (no spaces inside). A single tilde
# pair is GitHub's strikethrough, so it is a subscript only inside a word ("H~2~O", "CO~2~"),
# where nobody strikes through; ==marked== as in pymdownx.mark.
SUBSCRIPT_RE = r"(?<=[^\W_])(~)([^\s~]{1,100}?)~(?!~)"
SUPERSCRIPT_RE = r"(?<![\^\\])(\^)([^\s^]{1,100}?)\^(?!\^)"
MARK_RE = r"(?<!=)(==)(?![=\s])(.+?)(?<![=\s])==(?!=)"


# Python-Markdown's inline parsing is superlinear on some long runs of punctuation (a 1 MB line
# of "[" takes seconds even with our bracket matcher). No real paragraph is this long, so a text
# run beyond it is shown literally instead of being parsed for inline Markdown.
MAX_INLINE_TEXT = 65_536


class _FootnoteBacklinkSpace(Treeprocessor):
    """The footnotes extension puts the space before a note's back link at the end of its last
    paragraph's text, which is only the end when the paragraph holds no element yet (an HTML
    paragraph does); the space is moved to just before the back link."""

    def run(self, root: etree.Element) -> None:
        for paragraph in root.iter("p"):
            text = paragraph.text
            if text and len(paragraph) > 1 and text.endswith(NBSP_PLACEHOLDER):
                backlink = paragraph[-1]
                if backlink.tag == "a" and backlink.get("class") == "footnote-backref":
                    paragraph.text = text[: -len(NBSP_PLACEHOLDER)]
                    before = paragraph[-2]
                    before.tail = (before.tail or "") + NBSP_PLACEHOLDER


class _LongTextGuard(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            if element.text and len(element.text) > MAX_INLINE_TEXT:
                element.text = AtomicString(element.text)
            if element.tail and len(element.tail) > MAX_INLINE_TEXT:
                element.tail = AtomicString(element.tail)


class _UnescapeProcessor(UnescapeTreeprocessor):
    """Python-Markdown's unescaping of backslash-escaped characters, skipping the regex
    substitution for the (almost all) texts that hold no placeholder, and the whole walk when
    no inline pattern produced one."""

    def __init__(self, md: Markdown, inline: TriggeredInlineProcessor) -> None:
        super().__init__(md)
        self.inline = inline

    def run(self, root: etree.Element) -> None:
        # Set by the inline processor's run, which comes first.
        stash: dict[str, etree.Element | str] | None = getattr(self.inline, "stashed_nodes", None)
        if stash is not None and not any(isinstance(node, str) and self.RE.search(node) for node in stash.values()):
            # An escaped character ("\x0242\x03") only enters the tree as a string an inline
            # pattern stashed (the escape and backtick patterns return one), put whole into a text
            # or attribute when its placeholder is resolved: source text holds no STX.
            return
        unescape = self.unescape
        for element in root.iter():
            text = element.text
            if text and "\x02" in text and element.tag != "code":
                element.text = unescape(text)
            tail = element.tail
            if tail and "\x02" in tail:
                element.tail = unescape(tail)
            for key, value in element.items():
                if value is not None and "\x02" in value:
                    element.set(key, unescape(value))


# GitHub's "autolink literal": bare http(s):// and www. addresses become links (after raw HTML, so
# URLs inside allow-listed tags' attributes are left alone). Trailing
# punctuation belongs to the sentence, not the URL.
BARE_URL_RE = r"(?<![\w/@.:\-])((?:https?://|www\.)[^\s<>\x02\x03]*[^\s<>\x02\x03?!.,:;*_~'\"\]])"


class _BareUrlProcessor(InlineProcessor):
    ANCESTOR_EXCLUDES = ("a",)

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element, int, int]:
        url = m.group(1)
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1]
        # A ")" closes the URL only when unbalanced, as on GitHub: wiki/Foo_(bar) keeps it.
        element = etree.Element("a", {"href": url if "://" in url else "http://" + url})
        element.text = AtomicString(url)
        return element, m.start(1), m.start(1) + len(url)


# GitHub's "extended email autolink": a bare address becomes a mailto link. The address may not
# end in "-" or "_", and a trailing "." belongs to the sentence.
BARE_EMAIL_RE = r"(?<![\w/@.:+\-])([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[\w\-]*[A-Za-z0-9])(?![\w@\-]|\.[\w])"
# CommonMark's other hard break: a backslash at the end of a line.
BACKSLASH_BREAK_RE = r"\\\n"


class _BareEmailProcessor(InlineProcessor):
    ANCESTOR_EXCLUDES = ("a",)

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element, int, int]:
        address = m.group(1)
        element = etree.Element("a", {"href": "mailto:" + address})
        element.text = AtomicString(address)
        return element, m.start(1), m.end(1)


class _AutomailProcessor(InlineProcessor):
    """``<user@example.com>`` as a plain mailto link. Python-Markdown's version obfuscates the
    address into entities meant for its HTML postprocessors, which storage format cannot use."""

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element, int, int]:
        address = m.group(1)
        if address.lower().startswith("mailto:"):
            address = address[len("mailto:") :]
        element = etree.Element("a", {"href": "mailto:" + address})
        element.text = AtomicString(address)
        return element, m.start(0), m.end(0)


# Substrings without which a block processor cannot accept a block, read off each processor's
# regular expression. Python-Markdown tries every processor on every block, most of them with a
# regex search over the whole block; a substring test is far cheaper. The footnote and
# reference processors accept every block in test() and give it back from run() (the same
# string, put back in place) when their regex does not match, so refusing in test() instead
# changes nothing.
_BLOCK_NEEDLES: dict[str, tuple[str, ...]] = {
    "table": ("|",),  # the header row is split on pipes; no pipe, no second column
    "hashheader": ("#",),
    "setextheader": ("\n=", "\n-"),
    # Three of the same marker, at most two spaces apart: two of them are.
    "hr": tuple(marker + gap + marker for marker in "-_*" for gap in ("", " ", "  ")),
    "deflist": (": ",),  # a colon and at least one space
    "quote": (">",),
    "footnote": ("[^",),
    "reference": ("]:",),
}


def _add_tree_shortcuts(footnotes: FootnoteExtension) -> None:
    """Cheap tests in front of tree searches that usually find nothing."""
    # The footnotes extension looks for its place marker in every text and tail of the page,
    # recursively and reading its configuration at each; itertext yields all of them (and the
    # root's own text, which can only add a false alarm) from C.
    find_placeholder = footnotes.findFootnotesPlaceholder
    marker = footnotes.getConfig("PLACE_MARKER")

    def placeholder_precheck(root: etree.Element) -> tuple[etree.Element, etree.Element, bool] | None:
        return find_placeholder(root) if marker in "".join(root.itertext()) else None

    footnotes.findFootnotesPlaceholder = placeholder_precheck  # type: ignore[method-assign]


def _add_block_prechecks(blockprocessors: Registry[BlockProcessor]) -> None:
    """Cheap tests in front of the block processors' own tests, for blocks they cannot accept
    (the substring tests of _BLOCK_NEEDLES are made by the dispatch loop itself)."""
    # An admonition either starts with "!!!" or "???" on some line of the block, or continues one with a
    # block indented by at least a tab: AdmonitionProcessor.parse_content accepts nothing else
    # (its current_sibling is only set by a test that returned true and is consumed by the run
    # that follows).
    admonition = blockprocessors["admonition"]
    admonition_test = admonition.test
    indent = " " * admonition.tab_length

    def admonition_precheck(parent: etree.Element, block: str) -> bool:
        return ("!!!" in block or "???" in block or block.startswith(indent)) and admonition_test(parent, block)

    admonition.test = admonition_precheck  # type: ignore[method-assign]
    # A block that does not start with a space cannot start with the indent: the dispatch loop
    # makes the "!!!" test for those itself, sparing most blocks a call to the precheck.
    admonition.needles_unless_indented = ("!!!", "???")  # type: ignore[attr-defined]


def _indented(first: str) -> bool:
    # startswith(" " * tab_length), tab_length being at least 1.
    return first == " "


def _placeholder_start(first: str) -> bool:
    # ^\s*\x02: whitespace (any Unicode whitespace, hence every non-ASCII character) or STX.
    return first.isspace() or first == STX or not first.isascii()


# The first characters a block may start with for a processor to accept it, read off each test
# (under the exact class, so a replaced processor is not judged by another's test). A block
# starting with anything else is not offered to it: most blocks are paragraphs, and this spares
# them half of the twenty tests. The processors not listed look at every line of the block.
_BLOCK_STARTS: dict[str, tuple[type[BlockProcessor], Callable[[str], bool]]] = {
    "empty": (EmptyBlockProcessor, lambda first: first in ("", "\n")),
    "indent": (ListIndentProcessor, _indented),
    "defindent": (DefListIndentProcessor, _indented),
    "code": (CodeBlockProcessor, _indented),
    "details": (DetailsProcessor, _placeholder_start),
    "fence": (FenceProcessor, _placeholder_start),
    "safe_html_block": (HtmlBlockProcessor, lambda first: first in (" ", "<")),  # block[:4].lstrip(" ")
    "toc": (TocProcessor, lambda first: first in (" ", "[")),  # block[:12].lstrip(" ")
    # ^[ ]{0,3}\d+\. where \d is any Unicode digit.
    "olist": (SaneOListProcessor, lambda first: first == " " or first.isdigit() or not first.isascii()),
    "ulist": (SaneUListProcessor, lambda first: first in (" ", "*", "+", "-")),  # ^[ ]{0,3}[*+-]
}


# A processor offered a block: the substrings of which the block must hold one (None: no such
# test), the processor's test and run (bound once, not per block), and the processor.
Offer = tuple[
    tuple[str, ...] | None,
    Callable[[etree.Element, str], bool],
    Callable[[etree.Element, list[str]], bool | None],
    BlockProcessor,
]


def _block_dispatch(blockprocessors: Registry[BlockProcessor]) -> Callable[[str], list[Offer]]:
    """The processors, in priority order, that may accept a block starting with a character."""
    processors = list(blockprocessors)
    accepts_start: list[Callable[[str], bool] | None] = []
    needles: list[tuple[str, ...] | None] = []
    for item in blockprocessors._priority:
        rule = _BLOCK_STARTS.get(item.name)
        processor = blockprocessors[item.name]
        usable = rule is not None and type(processor) is rule[0] and processor.tab_length >= 1
        accepts_start.append(rule[1] if usable else None)  # type: ignore[index]
        needles.append(_BLOCK_NEEDLES.get(item.name))
    # Per Markdown instance, like everything else here: filled in as characters turn up.
    offered: dict[str, list[Offer]] = {}

    def processors_for(first: str) -> list[Offer]:
        found = offered.get(first)
        if found is None:
            found = offered[first] = [
                (
                    needed if needed is not None or first == " " else getattr(processor, "needles_unless_indented", None),
                    processor.test,
                    processor.run,
                    processor,
                )
                for processor, accepts, needed in zip(processors, accepts_start, needles, strict=True)
                if accepts is None or accepts(first)
            ]
        return found

    return processors_for


def build_markdown(state: ConversionState) -> Markdown:
    footnotes = FootnoteExtension()
    md = Markdown(
        extensions=[
            TableExtension(),
            footnotes,
            DefListExtension(),
            AdmonitionExtension(),
            SaneListExtension(),
        ]
    )
    # We normalise whitespace ourselves (after lifting fenced code out, so code keeps its tabs)
    # and never let raw HTML through: both passthroughs go.
    # GitHub lets a backslash escape any ASCII punctuation (\\< in particular); Python-Markdown
    # only a few characters.
    md.ESCAPED_CHARS = sorted(set(md.ESCAPED_CHARS) | set(string.punctuation))
    md.preprocessors.deregister("normalize_whitespace")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.inlinePatterns.register(InlineHtmlProcessor(InlineHtmlProcessor.PATTERN), "safe_html", 90)
    md.inlinePatterns.register(_AutomailProcessor(AUTOMAIL_RE, md), "automail", 110)
    md.inlinePatterns.register(_BareUrlProcessor(BARE_URL_RE), "bare_url", 85)
    md.inlinePatterns.register(_BareEmailProcessor(BARE_EMAIL_RE), "bare_email", 84)
    md.inlinePatterns.register(SimpleTagInlineProcessor(SUBSCRIPT_RE, "sub"), "subscript", 66)
    md.inlinePatterns.register(SimpleTagInlineProcessor(STRIKETHROUGH_RE, "del"), "strike", 65)
    md.inlinePatterns.register(SimpleTagInlineProcessor(SUPERSCRIPT_RE, "sup"), "superscript", 64)
    md.inlinePatterns.register(SimpleTagInlineProcessor(MARK_RE, "mark"), "mark", 63)
    # After code spans (a lozenge in backticks is shown as written), before escapes: in a table
    # cell the separator is written "\|", which the escape pattern would hide.
    md.inlinePatterns.register(StatusProcessor(STATUS_RE, state), "status", 185)
    # After code spans, before escapes: LaTeX is full of backslashes ("\{", "\\") that must stay.
    md.inlinePatterns.register(InlineMathProcessor(INLINE_MATH_RE, state), "math", 186)
    # After "escape", so an escaped backslash before the line end ("\\\\") is no break.
    md.inlinePatterns.register(SubstituteTagInlineProcessor(BACKSLASH_BREAK_RE, "br"), "backslash_break", 177)
    brackets = BracketMatcher()
    for pattern in md.inlinePatterns:
        if isinstance(pattern, LinkInlineProcessor):
            pattern.getText = brackets.get_text  # type: ignore[method-assign]
    _add_tree_shortcuts(footnotes)
    md.treeprocessors.register(_FootnoteBacklinkSpace(md), "footnote_backlink_space", 49)
    md.treeprocessors.register(_LongTextGuard(md), "long_text_guard", 25)
    inline = TriggeredInlineProcessor(md)
    md.treeprocessors.register(inline, "inline", 20)
    md.treeprocessors.register(_UnescapeProcessor(md, inline), "unescape", 0)
    # Our serializer lays out the output; prettify's re-indenting is wasted work.
    md.treeprocessors.deregister("prettify")

    parser = md.parser
    parser.blockprocessors.register(ListAwareAdmonitionProcessor(parser), "admonition", 105)
    parser.blockprocessors.register(ParagraphSetextProcessor(parser), "setextheader", 60)
    parser.blockprocessors.register(DetailsProcessor(parser, state), "details", 87)
    parser.blockprocessors.register(FenceProcessor(parser, state), "fence", 86)
    parser.blockprocessors.register(HtmlBlockProcessor(parser), "safe_html_block", 85)
    parser.blockprocessors.register(TocProcessor(parser), "toc", 75)
    parser.blockprocessors.register(SeparateBlockQuoteProcessor(parser), "quote", 20)

    parser.blockprocessors["hashheader"].RE = HASH_HEADER_RE
    _add_block_prechecks(parser.blockprocessors)
    # The registry is final from here on. Python-Markdown's parseBlocks rebuilds the sorted
    # processor list from the registry for every block; one list built here does the same job.
    processors = list(parser.blockprocessors)
    processors_for = _block_dispatch(parser.blockprocessors)

    def resume_after(processor: BlockProcessor, parent: etree.Element, blocks: list[str]) -> None:
        # BlockParser.parseBlocks's loop over all the processors after this one.
        for later in processors[processors.index(processor) + 1 :]:
            if later.test(parent, blocks[0]) and later.run(parent, blocks) is not False:
                return

    def depth_limited_parse_blocks(parent: etree.Element, blocks: list[str]) -> None:
        if state.depth >= MAX_BLOCK_DEPTH:
            paragraph = etree.SubElement(parent, "p")
            paragraph.text = AtomicString("\n\n".join(blocks))
            blocks.clear()
            return
        state.depth += 1
        try:
            # BlockParser.parseBlocks, over the processors that may accept the block.
            while blocks:
                block = blocks[0]
                for needles, test, run, processor in processors_for(block[:1]):
                    if needles is not None:
                        # A plain loop: a call per needle test costs more than the test.
                        for needle in needles:
                            if needle in block:
                                break
                        else:
                            continue
                    if test(parent, block):
                        if run(parent, blocks) is not False:
                            break
                        if not blocks or blocks[0] is not block:
                            # A run that declined left another block first (none of ours
                            # does): that block is offered to every processor after this one.
                            resume_after(processor, parent, blocks)
                            break
        finally:
            state.depth -= 1

    # Every recursive path in the block parser (lists, blockquotes, admonitions, details) goes
    # through parseBlocks, so limiting it here bounds the recursion everywhere.
    parser.parseBlocks = depth_limited_parse_blocks  # type: ignore[method-assign]
    return md

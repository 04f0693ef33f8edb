"""Line-level rewriting done before Python-Markdown parses blocks, and the block processors
that turn our placeholders into storage-format elements."""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown.blockparser import BlockParser
from markdown.blockprocessors import BlockProcessor, BlockQuoteProcessor, SetextHeaderProcessor
from markdown.extensions.admonition import AdmonitionProcessor
from markdown.util import AtomicString

from ._fences import fence_element
from ._html import sanitize_html_into, strip_tags
from ._macros import macro
from ._state import ConversionState

STX, ETX = "\x02", "\x03"
# Our placeholder lines are surrounded by blank lines, which Python-Markdown may leave at the
# edges of a block; hence the \s* around them.
FENCE_PLACEHOLDER = re.compile(r"^\s*\x02fence:(\d+)\x03\s*$")
DETAILS_OPEN = re.compile(r"^\s*\x02details:(\d+)\x03\s*$")
_DETAILS_CLOSE = re.compile(r"^\s*\x02/details\x03\s*$")

# ---------------------------------------------------------------------------------------------
# Fenced code. Python-Markdown's fenced_code only sees fences in column 0, so fences inside list
# items and blockquotes (which GitHub renders) would become paragraphs. We lift every fence out
# first — before tabs are expanded, so code keeps its tabs — and leave a placeholder line at the
# fence's indentation, which lands in the right container when the blocks are parsed.

_FENCE_OPEN = re.compile(r"^((?:[ ]{0,3}>[ ]?)*)([ ]*)(`{3,}|~{3,}|\$\$)(.*)$")


def extract_fences(text: str, state: ConversionState) -> str:
    if "```" not in text and "~~~" not in text and "$$" not in text:
        return text
    lines = text.split("\n")
    out: list[str] = []
    count = len(lines)
    index = 0
    while index < count:
        line = lines[index]
        opening = _FENCE_OPEN.match(line) if ("`" in line or "~" in line or "$" in line) else None
        if opening is None or (opening.group(3)[0] == "`" and "`" in opening.group(4)):
            out.append(line)
            index += 1
            continue
        quote, indent, fence, info = opening.groups()
        if fence == "$$":
            end = _display_math_end(lines, index, quote)
            if end is None:
                out.append(line)
                index += 1
                continue
            latex = "\n".join([info, *(_strip_quote(later, quote.count(">")) for later in lines[index + 1 : end + 1])])
            state.fences.append(("math", latex.rstrip().removesuffix("$$")))
            index = end + 1
            blank = quote.rstrip()
            out.extend((blank, f"{quote}{indent}{STX}fence:{len(state.fences) - 1}{ETX}", blank))
            continue
        width = len(indent)
        body: list[str] = []
        index += 1
        while index < count:
            candidate = lines[index]
            if quote:
                # Inside a blockquote the code ends with the quote.
                stripped_quote = candidate.lstrip(" ")
                if not stripped_quote.startswith(">"):
                    break
                candidate = _strip_quote(candidate, quote.count(">"))
            content = candidate.lstrip(" ")
            leading = len(candidate) - len(content)
            if (
                content.startswith(fence)
                and not content.rstrip().strip(fence[0])
                and leading <= width + 3
            ):
                index += 1
                break
            body.append(candidate[min(width, leading) :])
            index += 1
        state.fences.append((info.strip(), "\n".join(body)))
        blank = quote.rstrip()
        out.extend(
            (blank, f"{quote}{indent}{STX}fence:{len(state.fences) - 1}{ETX}", blank)
        )
    return "\n".join(out)


def _display_math_end(lines: list[str], start: int, quote: str) -> int | None:
    """The index of the line closing the ``$$`` display math opened on lines[start] (itself when
    the line is ``$$ … $$``), or None: math ends at "$$" before a blank line or the quote's end."""
    if lines[start].rstrip().endswith("$$") and len(lines[start].strip().lstrip(">").strip()) > 4:
        return start
    levels = quote.count(">")
    for index in range(start + 1, len(lines)):
        candidate = lines[index]
        if levels and not candidate.lstrip(" ").startswith(">"):
            return None
        content = _strip_quote(candidate, levels) if levels else candidate
        if not content.strip():
            return None
        if content.rstrip().endswith("$$"):
            return index
    return None


def _strip_quote(line: str, levels: int) -> str:
    for _ in range(levels):
        stripped = line.lstrip(" ")
        if not stripped.startswith(">"):
            break
        line = stripped[1:]
        if line.startswith(" "):
            line = line[1:]
    return line


# ---------------------------------------------------------------------------------------------
# Tables. On GitHub a table may follow a paragraph line directly ("Results:\n| a | b |\n|---|---|");
# Python-Markdown only finds a table at the start of a block, so it gets a blank line in front.

_DELIMITER_ROW = re.compile(r" {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")
# A pipe next to a dash or colon: every delimiter row has one. Looking for it first spares the
# full expression on every other line.
_DELIMITER_HINT = re.compile(r"[-:][ \t]*\||\|[ \t]*[-:]")


def _cell_count(row: str) -> int:
    return len(row.replace("\\|", "").strip().strip("|").split("|"))


def separate_tables(text: str) -> str:
    if "|" not in text or "-" not in text:
        return text
    starts: list[int] = []
    position = 0
    while (hint := _DELIMITER_HINT.search(text, position)) is not None:
        row_start = text.rfind("\n", 0, hint.start()) + 1
        row_end = text.find("\n", hint.end())
        if row_end < 0:
            row_end = len(text)
        position = row_end + 1
        row = text[row_start:row_end]
        header_end = row_start - 1
        if header_end <= 0 or _DELIMITER_ROW.fullmatch(row) is None:
            continue
        header_start = text.rfind("\n", 0, header_end) + 1
        header = text[header_start:header_end]
        if header_start == 0 or "|" not in header or header.startswith(("    ", "\t")):
            continue
        before = text[text.rfind("\n", 0, header_start - 1) + 1 : header_start - 1]
        # Only after a plain paragraph line: not after a blank line, another row, or a line
        # that belongs to a quote or an indented container.
        if not before.strip() or "|" in before or before[0] in " \t>":
            continue
        if _cell_count(header) == _cell_count(row):
            starts.append(header_start)
    if not starts:
        return text
    pieces: list[str] = []
    previous = 0
    for start in starts:
        pieces.append(text[previous:start])
        pieces.append("\n")
        previous = start
    pieces.append(text[previous:])
    return "".join(pieces)


# ---------------------------------------------------------------------------------------------
# <details> blocks. GitHub renders the Markdown between <details><summary>…</summary> and
# </details> when they sit on their own lines, so those lines become markers that the
# DetailsProcessor turns into an expand macro around the parsed content.

_DETAILS_LINE = re.compile(
    r"^([ ]*)<details(?:\s[^>]*)?>\s*(?:<summary(?:\s[^>]*)?>(.*?)</summary>)?\s*$", re.I
)
_SUMMARY_LINE = re.compile(r"^[ ]*<summary(?:\s[^>]*)?>(.*?)</summary>\s*$", re.I)
_DETAILS_END = re.compile(r"^([ ]*)</details>\s*$", re.I)


# CommonMark's HTML blocks of kinds 1, 2 and 6 may interrupt a paragraph ("Intro\n<div>…"); Python-Markdown
# needs a blank line first, or the tags end up in the paragraph as text.
_INTERRUPTING_HTML = re.compile(
    r"^ {0,3}<(?:(!--)|(script|pre|style|textarea)(?=[\s>]|$)|/?(?:address|article|aside|blockquote|center|dd|"
    r"div|dl|dt|figcaption|figure|footer|h[1-6]|header|hr|li|main|nav|ol|p|section|table|caption|colgroup|"
    r"col|tbody|thead|tfoot|tr|td|th|ul)(?=[\s/>]|$))",
    re.I,
)


def mark_details(lines: list[str], state: ConversionState) -> list[str]:
    """Turn <details> lines into markers, and give an HTML block that interrupts a paragraph
    the blank line Python-Markdown needs in front of it."""
    out: list[str] = []
    awaiting_summary = -1
    # Whether the previous line holds text, and whether that text belongs to an HTML block
    # (whose lines are never separated); the end marker of an open comment/script/pre block.
    previous_text = False
    in_html = False
    open_until: str | None = None
    last_line_holding: dict[str, int] = {}

    def closes_later(marker: str, after: int) -> bool:
        # An end marker that never comes leaves the opener as a one-block HTML block (as
        # HtmlBlockProcessor does), so the lines after it are read as Markdown again.
        if marker not in last_line_holding:
            last_line_holding[marker] = max(
                (index for index, text in enumerate(lines) if marker in text.lower()), default=-1
            )
        return last_line_holding[marker] > after

    for number_of_line, line in enumerate(lines):
        if open_until is not None:
            if open_until in line.lower():
                open_until = None
            out.append(line)
            previous_text = bool(line.strip())
            continue
        if "<" not in line:
            if line.strip():
                awaiting_summary = -1
                previous_text = True
            else:
                previous_text = in_html = False
            out.append(line)
            continue
        html_start = _INTERRUPTING_HTML.match(line)
        if html_start is not None and _DETAILS_LINE.match(line) is None:
            if previous_text and not in_html:
                out.append("")
            in_html = previous_text = True
            awaiting_summary = -1
            kind = "!--" if html_start.group(1) else (html_start.group(2) or "").lower()
            end = "-->" if kind == "!--" else f"</{kind}>" if kind else None
            if (
                end is not None
                and end not in line[html_start.end() :].lower()
                and closes_later(end, number_of_line)
            ):
                open_until = end
            out.append(line)
            continue
        previous_text = True
        opening = _DETAILS_LINE.match(line)
        if opening is not None:
            state.details_titles.append(_summary_text(opening.group(2) or ""))
            number = len(state.details_titles) - 1
            awaiting_summary = -1 if opening.group(2) is not None else number
            out.extend(("", f"{opening.group(1)}{STX}details:{number}{ETX}", ""))
            previous_text = in_html = False
            continue
        summary = _SUMMARY_LINE.match(line) if awaiting_summary >= 0 else None
        if summary is not None:
            state.details_titles[awaiting_summary] = _summary_text(summary.group(1))
            awaiting_summary = -1
            continue
        closing = _DETAILS_END.match(line)
        if closing is not None:
            out.extend(("", f"{closing.group(1)}{STX}/details{ETX}", ""))
            awaiting_summary = -1
            previous_text = in_html = False
            continue
        awaiting_summary = -1
        out.append(line)
    return out


def _summary_text(raw: str) -> str:
    return " ".join(strip_tags(raw).split())


# ---------------------------------------------------------------------------------------------
# List indentation. GitHub nests a list item under another when it is indented to the parent's
# content column (2 spaces after "- ", 3 after "1. "); Python-Markdown needs multiples of 4.
# We follow CommonMark's rule with a stack of open items and re-indent every line inside a list
# to 4 spaces per level, keeping any extra indentation (an indented code block in an item).

EMPTY_ITEM = STX + ETX
_LIST_ITEM = re.compile(r"^( *)([-*+]|\d{1,9}[.)])( +|$)")
MAX_LIST_DEPTH = 24


# Any line that could open a list item; without one there is nothing to re-indent.
_ANY_ITEM = re.compile(r"^ *(?:[-*+]|\d{1,9}[.)])(?: |$)", re.MULTILINE)


def normalise_lists(lines: list[str]) -> list[str]:
    if _ANY_ITEM.search("\n".join(lines)) is None:
        # The loop below would only empty the whitespace-only lines (quotes, admonition
        # bodies and most blocks get here).
        return ["" if line.isspace() else line for line in lines]
    out: list[str] = []
    # Each open item: (marker column, content column).
    stack: list[tuple[int, int]] = []
    previous_blank = True
    previous_in_paragraph = False
    # A paragraph inside an item that began after a blank line is parsed by Python-Markdown as
    # one indented block that would swallow a following item; a blank line keeps them apart.
    indented_paragraph = False
    for line in lines:
        if not line or line.isspace():
            out.append("")
            previous_blank = True
            indented_paragraph = False
            continue
        first = line[0]
        if not stack and first not in " -*+" and not first.isdigit():
            # Outside any list, a line that cannot be an item is kept as it is (what the
            # general path below does with it, without the regex and the slicing).
            out.append(line)
            previous_in_paragraph = first not in "#" + STX
            previous_blank = False
            continue
        content = line.lstrip(" ")
        column = len(line) - len(content)
        item = _LIST_ITEM.match(line) if column < (stack[-1][1] + 4 if stack else 4) else None
        if item is not None and _is_thematic_break(content):
            item = None
        rest = line[item.end() :] if item is not None else ""
        if item is not None and not rest.strip() and not stack and previous_in_paragraph and not previous_blank:
            # An empty item cannot interrupt a paragraph: "Title\n-" is a heading underline.
            item = None
        if item is not None:
            marker = item.group(2)
            if indented_paragraph:
                out.append("")
                indented_paragraph = False
            if not stack and previous_in_paragraph and not previous_blank:
                # GitHub lets a bullet list (or one starting at 1) interrupt a paragraph;
                # Python-Markdown wants a blank line first.
                if marker[0].isdigit() and int(marker[:-1]) != 1:
                    out.append(line)
                    previous_blank = False
                    continue
                out.append("")
            while stack and column < stack[-1][1]:
                stack.pop()
            spaces = item.group(3)
            # CommonMark: five or more spaces after the marker mean indented code, so the
            # content column is one past the marker.
            gap = len(spaces) if 0 < len(spaces) <= 4 else 1
            if len(stack) < MAX_LIST_DEPTH:
                stack.append((column, column + len(marker) + gap))
            else:
                stack[-1] = (column, column + len(marker) + gap)
            if marker[-1] == ")":
                # Python-Markdown only knows "1." ordered markers.
                marker = marker[:-1] + "."
            depth = len(stack) - 1
            if not rest.strip():
                # An empty item ("-" alone) needs content, or Python-Markdown reads "- a\n-" as a
                # heading underline; an empty placeholder resolves to nothing when serialised.
                rest = EMPTY_ITEM
            out.append(" " * (4 * depth) + marker + " " + rest)
            previous_blank = False
            previous_in_paragraph = True
            continue
        if stack and previous_blank:
            while stack and column < stack[-1][1]:
                stack.pop()
        if stack and column >= stack[-1][1]:
            if previous_blank:
                indented_paragraph = True
            extra = column - stack[-1][1]
            out.append(" " * (4 * len(stack) + extra) + content)
        else:
            # Outside any list, or a lazy continuation line of the item's paragraph.
            out.append(line)
        previous_in_paragraph = not (content.startswith("#") or content.startswith(STX))
        previous_blank = False
    return out


_THEMATIC_BREAK = re.compile(r"^(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")


def _is_thematic_break(content: str) -> bool:
    return _THEMATIC_BREAK.match(content) is not None


# ---------------------------------------------------------------------------------------------
# Block processors.


class FenceProcessor(BlockProcessor):
    def __init__(self, parser: BlockParser, state: ConversionState) -> None:
        super().__init__(parser)
        self.state = state

    def test(self, parent: etree.Element, block: str) -> bool:
        return STX in block and FENCE_PLACEHOLDER.match(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        match = FENCE_PLACEHOLDER.match(blocks.pop(0))
        assert match is not None
        info, code = self.state.fences[int(match.group(1))]
        parent.append(fence_element(info, code, self.state))


class DetailsProcessor(BlockProcessor):
    def __init__(self, parser: BlockParser, state: ConversionState) -> None:
        super().__init__(parser)
        self.state = state

    def test(self, parent: etree.Element, block: str) -> bool:
        if STX not in block:
            return False
        return DETAILS_OPEN.match(block) is not None or _DETAILS_CLOSE.match(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        opening = DETAILS_OPEN.match(blocks.pop(0))
        if opening is None:
            # A closing marker without its opening one (it ended up in another container).
            return
        title = self.state.details_titles[int(opening.group(1))]
        inner: list[str] = []
        nesting = 0
        while blocks:
            block = blocks.pop(0)
            if _DETAILS_CLOSE.match(block):
                if nesting == 0:
                    break
                nesting -= 1
            elif DETAILS_OPEN.match(block):
                nesting += 1
            inner.append(block)
        element, body = macro("expand", {"title": title} if title else None, rich_body=True)
        parent.append(element)
        assert body is not None
        self.parser.parseBlocks(body, inner)


class TocProcessor(BlockProcessor):
    """A marker alone on its line: ``[TOC]`` / ``[[_TOC_]]`` (Python-Markdown, GitLab, Azure DevOps
    wikis) for the table of contents, ``[CHILDREN]`` / ``[[_CHILDREN_]]`` / ``[[_TOSP_]]`` (Azure
    DevOps' "table of subpages") for the list of child pages."""

    _MARKER = re.compile(
        r"^ {0,3}(?:\[(TOC|CHILDREN)\]|\[\[_(TOC|CHILDREN|TOSP)_\]\])[ \t]*$", re.IGNORECASE
    )

    def test(self, parent: etree.Element, block: str) -> bool:
        return block[:12].lstrip(" ")[:1] == "[" and self._MARKER.match(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        match = self._MARKER.match(blocks.pop(0))
        assert match is not None
        parent.append(macro("toc" if (match.group(1) or match.group(2)).upper() == "TOC" else "children")[0])


MAX_HTML_BLOCK = 65_536


class HtmlBlockProcessor(BlockProcessor):
    """A block that starts with a block-level HTML tag (CommonMark's HTML block kinds 1, 2 and
    6) is sanitised through the allow-list instead of being passed through."""

    _START = re.compile(
        r"^ {0,3}<(?:!--|/?(address|article|aside|blockquote|center|dd|div|dl|dt|figcaption|"
        r"figure|footer|h[1-6]|header|hr|li|main|nav|ol|p|pre|section|table|caption|colgroup|"
        r"col|tbody|thead|tfoot|tr|td|th|ul|script|style|iframe|textarea|object|embed|form|"
        r"noscript|template|details|summary|img|picture|source|video|audio|ac:[\w-]+|"
        r"ri:[\w-]+)(?=[\s/>]|$))",
        re.IGNORECASE,
    )
    # Kinds whose content runs past blank lines up to the closing tag.
    _RUN_TO_END = {"!--": "-->", "script": "</script>", "style": "</style>", "pre": "</pre>",
                   "textarea": "</textarea>"}

    def test(self, parent: etree.Element, block: str) -> bool:
        return block[:4].lstrip(" ")[:1] == "<" and self._START.match(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        match = self._START.match(block)
        assert match is not None
        kind = "!--" if match.group(1) is None else match.group(1).lower()
        end = self._RUN_TO_END.get(kind)
        if end is not None:
            if end not in block.lower():
                # Gather the following blocks until the end marker, if there is one at all.
                for position, later in enumerate(blocks):
                    if end in later.lower():
                        block = "\n\n".join([block, *blocks[: position + 1]])
                        del blocks[: position + 1]
                        break
            # CommonMark ends these kinds at the line holding the end marker: what follows on
            # the next lines ("<!-- note -->" then "# Heading") is Markdown again, not swallowed.
            found = block.lower().find(end, match.end())
            if found >= 0:
                line_end = block.find("\n", found + len(end))
                if line_end >= 0 and block[line_end + 1 :].strip():
                    blocks.insert(0, block[line_end + 1 :])
                    block = block[:line_end]
        if kind == "!--":
            # A comment is for the author; it never reaches the page.
            return
        if len(block) > MAX_HTML_BLOCK:
            # html.parser is slow on huge malformed input; such a block is shown as text.
            paragraph = etree.SubElement(parent, "p")
            paragraph.text = AtomicString(block)
            return
        sanitize_html_into(parent, block)


class SeparateBlockQuoteProcessor(BlockQuoteProcessor):
    """Python-Markdown folds a blockquote into the one before it even across a blank line;
    GitHub starts a new quote (which matters when the second one is an alert)."""

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        match = self.RE.search(block)
        if match is None:
            # test() only accepts blocks with a quote line, so this cannot happen; keep the text.
            self.parser.parseBlocks(parent, [block])
            return
        if match.start():
            self.parser.parseBlocks(parent, [block[: match.start()]])
        quote = etree.SubElement(parent, "blockquote")
        # The quote's own lines were hidden behind ">" when lists were normalised, so a list in a
        # quote (or a GitHub alert) is normalised here: "> [!TIP]\n> - a\n>   - b" nests.
        inner = "\n".join(normalise_lists([self.clean(line) for line in block[match.start() :].split("\n")]))
        self.parser.state.set("blockquote")
        self.parser.parseChunk(quote, inner)
        self.parser.state.reset()


class ListAwareAdmonitionProcessor(AdmonitionProcessor):
    """MkDocs admonitions: ``!!! type "Title"``, and the collapsible ``??? type "Title"`` (``???+``
    opened) of pymdownx.details; a ``panel`` may end its line with Confluence's panel options
    (``bgColor=#DEEBFF``). The marker and the options are kept on the element for the storage
    rewrite. An admonition's body is indented, so lists in it were left alone when lists were
    normalised; they are normalised once the body is detabbed, before it is parsed."""

    # The first group (the marker's indentation) is always empty here; _INDENTED_MARKER fills it.
    RE = re.compile(
        r'(?:^|\n)()(!!!|\?\?\?\+?) ?([\w\-]+(?: +[\w\-]+)*)(?: +"(.*?)")?((?: +[A-Za-z]+=[^\s=]+)*) *(?:\n|$)'
    )
    # Under a list item ("1. Step" then "    !!! tip"), the lists' normalisation leaves the item's own
    # indentation plus the author's extra spaces before the marker: up to three.
    _INDENTED_MARKER = re.compile(r"( {1,3})(?:!!!|\?\?\?\+?) ?[\w\-]")

    def get_class_and_title(self, match: re.Match[str]) -> tuple[str, str | None]:
        klass = self.RE_SPACES.sub(" ", match.group(3).lower())
        title = match.group(4)
        # No title: the panel shows none (the colour says what kind it is); an explicit "" too.
        return klass, title or None

    def test(self, parent: etree.Element, block: str) -> bool:
        if parent.tag == "li" and self._INDENTED_MARKER.match(block):
            return True
        return super().test(parent, block)

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        indented = self._INDENTED_MARKER.match(blocks[0]) if parent.tag == "li" else None
        if indented is not None:
            # Python-Markdown reads the marker and its body from column 0: the block moves left by the
            # marker's indentation.
            shift = len(indented.group(1))
            blocks[0] = "\n".join(line[shift:] if line[:shift].isspace() else line.lstrip(" ")
                                  for line in blocks[0].split("\n"))
        match = self.RE.search(blocks[0])
        super().run(parent, blocks)
        if match is None:
            return
        # The admonition just made is the last <div> appended to parent (after any paragraph
        # that preceded the marker in the same block).
        for element in reversed(parent):
            if element.tag == "div":
                element.set("data-marker", match.group(2))
                if match.group(5):
                    element.set("data-options", match.group(5).strip())
                break

    def detab(self, text: str, length: int | None = None) -> tuple[str, str]:
        block, rest = super().detab(text, length)
        return "\n".join(normalise_lists(block.split("\n"))), rest


# Lines that cannot be the text of a setext heading: each starts a block of its own.
_NOT_PARAGRAPH_TEXT = re.compile(
    r"^ {0,3}(?:>|#{1,6}(?:[ \t]|$)|(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)|(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$)"
    r"|^\s*\x02",
    re.MULTILINE,
)


class ParagraphSetextProcessor(SetextHeaderProcessor):
    """A setext heading underlines a paragraph, as on GitHub: every line of it ("Line one\nLine
    two\n===" is one heading), and nothing else. Python-Markdown takes the one line above the
    underline whatever it is, so "- item\n---" or "> quote\n---" became a heading holding the
    list marker or the ">" instead of a list or quote followed by a rule."""

    RE = re.compile(r"^(?P<text>(?:[^\n]*\n)+?)(?P<underline>=+|-+)[ \t]*(?:\n|$)")

    def test(self, parent: etree.Element, block: str) -> bool:
        match = self.RE.match(block)
        return (
            match is not None
            and not match.group("text").startswith("    ")
            and _NOT_PARAGRAPH_TEXT.search(match.group("text")) is None
        )

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        match = self.RE.match(block)
        assert match is not None
        heading = etree.SubElement(parent, "h1" if match.group("underline")[0] == "=" else "h2")
        heading.text = match.group("text").strip()
        rest = block[match.end() :]
        if rest:
            blocks.insert(0, rest)


"""Raw HTML in Markdown: an allow-list, re-emitted as elements so the serializer writes them as
well-formed XML. Python-Markdown's own raw-HTML passthrough is switched off in ``_pipeline``."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree
from html.parser import HTMLParser

from markdown.inlinepatterns import InlineProcessor
from markdown.util import AtomicString, code_escape

from ._macros import macro
from ._text import clean_text

# tag -> attributes kept. Renamed tags map to the element Confluence's editor itself writes.
_INLINE: dict[str, frozenset[str]] = {
    "br": frozenset(),
    "sub": frozenset(),
    "sup": frozenset(),
    "u": frozenset(),
    "kbd": frozenset(),
    "mark": frozenset(),
    "span": frozenset({"title"}),
    "abbr": frozenset({"title"}),
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "ins": frozenset(),
    "small": frozenset(),
    "code": frozenset(),
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
}
_BLOCK: dict[str, frozenset[str]] = {
    "p": frozenset(),
    "h1": frozenset(),
    "h2": frozenset(),
    "h3": frozenset(),
    "h4": frozenset(),
    "h5": frozenset(),
    "h6": frozenset(),
    "ul": frozenset(),
    "ol": frozenset({"start"}),
    "li": frozenset(),
    "blockquote": frozenset(),
    "hr": frozenset(),
    "pre": frozenset(),
    "dl": frozenset(),
    "dt": frozenset(),
    "dd": frozenset(),
    "table": frozenset(),
    "caption": frozenset(),
    "thead": frozenset(),
    "tbody": frozenset(),
    "tfoot": frozenset(),
    "tr": frozenset(),
    "th": frozenset({"colspan", "rowspan"}),
    "td": frozenset({"colspan", "rowspan"}),
}
_ALLOWED = {**_INLINE, **_BLOCK}
_RENAMED = {"b": "strong", "i": "em", "s": "del", "strike": "del"}
_VOID = frozenset({"br", "img", "hr"})
_NUMERIC = frozenset({"colspan", "rowspan", "start", "width", "height"})
# Removed together with everything inside them: active content, and Confluence's own markup,
# which an author must not be able to inject (it could smuggle macros into the page).
# Elements that hold other elements, never text of their own.
_STRUCTURAL = frozenset({"table", "thead", "tbody", "tfoot", "tr", "colgroup", "ul", "ol", "dl"})
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "applet", "noscript", "template", "textarea",
     "title", "head", "svg", "math", "frame", "frameset", "select", "option", "button", "form",
     "input", "link", "meta", "base", "audio", "video", "source", "picture", "canvas"}
)


def allowed_attributes(tag: str, attributes: list[tuple[str, str | None]]) -> dict[str, str]:
    keep = _ALLOWED.get(tag, frozenset())
    result: dict[str, str] = {}
    for name, value in attributes:
        name = name.lower()
        if name not in keep or value is None:
            continue
        value = clean_text(value)
        if name in _NUMERIC and not value.strip().isdigit():
            continue
        result[name] = value.strip() if name in _NUMERIC else value
    return result


def make_element(tag: str, attributes: list[tuple[str, str | None]]) -> etree.Element:
    element = etree.Element(_RENAMED.get(tag, tag), allowed_attributes(tag, attributes))
    if tag == "a" and element.get("href") is None:
        # <a name="install"></a> is how READMEs mark a place that "[…](#install)" links to; the
        # name becomes an anchor macro there (the rewriter never lets the id itself through).
        name = next((value for key, value in attributes if key.lower() in ("name", "id") and value), "")
        name = clean_text(name).strip()
        if name:
            element.set("id", name)
    return element


_TAGS = re.compile(r"<[^>]*>")


def strip_tags(raw: str) -> str:
    return clean_text(html.unescape(_TAGS.sub("", raw)))


class _Sanitizer(HTMLParser):
    """Rebuilds an HTML fragment from allow-listed elements only. Unknown tags are unwrapped
    (their text stays); dangerous ones vanish with their content; text is decoded from HTML
    and kept literal (GitHub does not render Markdown inside an HTML block either)."""

    def __init__(self, container: etree.Element) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, etree.Element]] = [("", container)]
        self.skipping: list[str] = []
        self.summary: list[str] | None = None
        self.details: list[etree.Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.append(tag)
            return
        if tag in _DROPPED_WITH_CONTENT or ":" in tag:
            if tag not in _VOID:
                self.skipping.append(tag)
            return
        parent = self.open[-1][1]
        if tag == "details":
            element, body = macro("expand", rich_body=True)
            parent.append(element)
            assert body is not None
            self.details.append(element)
            self.open.append(("details", body))
            return
        if tag == "summary":
            if self.open[-1][0] == "details" and self.summary is None:
                self.summary = []
            return
        if tag not in _ALLOWED:
            return
        element = make_element(tag, attrs)
        parent.append(element)
        if tag not in _VOID:
            self.open.append((tag, element))

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag == "summary" and self.summary is not None:
            title = " ".join("".join(self.summary).split())
            if title and self.details:
                parameter = etree.Element("ac:parameter", {"ac:name": "title"})
                parameter.text = AtomicString(title)
                self.details[-1].insert(0, parameter)
            self.summary = None
            return
        for position in range(len(self.open) - 1, 0, -1):
            if self.open[position][0] == tag:
                del self.open[position:]
                if tag == "details":
                    self.details.pop()
                return

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        data = clean_text(data)
        if self.summary is not None:
            self.summary.append(data)
            return
        tag, element = self.open[-1]
        if tag in _STRUCTURAL and not data.strip():
            # Layout whitespace between rows or items is not content (and text directly in a
            # <table> or <ul> is not valid there).
            return
        if len(element):
            element[-1].tail = (element[-1].tail or "") + data
        else:
            element.text = (element.text or "") + data


_BLOCK_LEVEL = frozenset(_BLOCK) | {"ac:structured-macro"}


def sanitize_html_into(parent: etree.Element, fragment: str) -> None:
    """Append the allow-listed content of an HTML block to parent. Loose text and inline
    elements at the top are wrapped in paragraphs, as a browser would lay them out."""
    container = etree.Element("div")
    sanitizer = _Sanitizer(container)
    try:
        sanitizer.feed(fragment)
        sanitizer.close()
    except AssertionError:
        # html.parser (through _markupbase) asserts on some malformed declarations such as
        # "<![" followed by a newline; the block is then shown as text, never dropped or raised.
        paragraph = etree.SubElement(parent, "p")
        paragraph.text = AtomicString(fragment)
        return
    for element in container.iter():
        if element.text is not None:
            element.text = AtomicString(element.text)
        elif element.tag == "p":
            # Python-Markdown's own paragraphs always hold a string, and the footnotes extension
            # appends to the last one's text ("<p><b>x</b></p>" as a footnote crashed it).
            element.text = AtomicString("")
        if element.tail is not None:
            element.tail = AtomicString(element.tail)
    paragraph: etree.Element | None = None
    paragraphs: list[etree.Element] = []

    def open_paragraph() -> etree.Element:
        nonlocal paragraph
        if paragraph is None:
            paragraph = etree.SubElement(parent, "p")
            paragraph.text = AtomicString("")
            paragraphs.append(paragraph)
        return paragraph

    def loose(text: str | None) -> None:
        if text and text.strip():
            holder = open_paragraph()
            if len(holder):
                holder[-1].tail = AtomicString((holder[-1].tail or "") + text)
            else:
                holder.text = AtomicString((holder.text or "") + text)

    loose(container.text)
    for child in list(container):
        tail, child.tail = child.tail, None
        if child.tag in _BLOCK_LEVEL:
            parent.append(child)
            paragraph = None
        else:
            open_paragraph().append(child)
        loose(tail)
    # The line breaks around loose text belong to the HTML layout, not to the paragraph.
    for holder in paragraphs:
        if holder.text:
            holder.text = AtomicString(holder.text.lstrip())
        last = holder[-1] if len(holder) else None
        if last is not None and last.tail:
            last.tail = AtomicString(last.tail.rstrip())
        elif last is None and holder.text:
            holder.text = AtomicString(holder.text.rstrip())


class InlineHtmlProcessor(InlineProcessor):
    """Inline raw HTML: allow-listed tags become elements (their content is still Markdown),
    comments disappear, and anything else stays visible as literal text."""

    PATTERN = r"<(?:!--|(/?)([A-Za-z][A-Za-z0-9]*)((?:\s[^<>]*)?/?)>)"

    def __init__(self, pattern: str) -> None:
        super().__init__(pattern)
        # For the text currently being scanned: the smallest offset from which a closing marker
        # is known to be absent. Without it, many unclosed tags would make scanning quadratic.
        self._scanned: str | None = None
        self._absent: dict[str, int] = {}

    def _find(self, data: str, marker: str, start: int) -> int:
        if data is not self._scanned:
            self._scanned = data
            self._absent = {}
        absent_from = self._absent.get(marker)
        if absent_from is not None and start >= absent_from:
            return -1
        found = data.find(marker, start)
        if found < 0:
            self._absent[marker] = start
        return found

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element | str | None, int | None, int | None]:
        tag = m.group(2)
        if tag is None:
            close = self._find(data, "-->", m.end())
            if close < 0:
                return None, None, None
            return "", m.start(), close + 3
        tag = tag.lower()
        if m.group(1) or tag not in _INLINE:
            return None, None, None
        attributes = _parse_attributes(m.group(3) or "")
        if tag in _VOID:
            return make_element(tag, attributes), m.start(), m.end()
        if m.group(3) and m.group(3).rstrip().endswith("/"):
            return None, None, None
        written = m.group(2)
        marker = f"</{written}>"
        close = self._find(data, marker, m.end())
        if close < 0:
            return None, None, None
        element = make_element(tag, attributes)
        content = data[m.end() : close]
        if tag == "code":
            # Same escaping as Python-Markdown's code spans, so both are undone in one place.
            element.text = AtomicString(code_escape(html.unescape(content)))
        else:
            element.text = content
        return element, m.start(), close + len(marker)


_ATTRIBUTE = re.compile(
    r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)


def _parse_attributes(raw: str) -> list[tuple[str, str | None]]:
    attributes: list[tuple[str, str | None]] = []
    for match in _ATTRIBUTE.finditer(raw):
        name = match.group(1)
        value = next((group for group in match.groups()[1:] if group is not None), None)
        attributes.append((name, html.unescape(value) if value is not None else None))
    return attributes

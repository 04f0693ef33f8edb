"""Rewrites the element tree Python-Markdown built into Confluence's native constructs:
code macros, task lists, panels, images, same-page anchor links."""

from __future__ import annotations

import posixpath
import re
import unicodedata
import xml.etree.ElementTree as etree
from collections.abc import Collection
from typing import TYPE_CHECKING
from urllib.parse import unquote

from markdown.util import AtomicString

from ._macros import code_macro, macro
from ._text import clean_text, is_absolute_url, is_safe_url, url_scheme

if TYPE_CHECKING:
    from .resolve import Resolver

# GitHub alert and admonition types -> Confluence panel macros. Confluence has four classic
# panels: info (blue), tip (green), note (yellow) and warning (red). NOTE is plain information,
# TIP a suggestion, IMPORTANT something to notice (note), WARNING and CAUTION risk (warning).
ALERT_PANELS = {
    "note": "info",
    "tip": "tip",
    "important": "note",
    "warning": "warning",
    "caution": "warning",
}
# Admonition types used by MkDocs/Python-Markdown, mapped by the same meaning.
ADMONITION_PANELS = {
    **ALERT_PANELS,
    "info": "info",
    "abstract": "info",
    "summary": "info",
    "todo": "info",
    "example": "info",
    "quote": "info",
    "question": "info",
    "hint": "tip",
    "success": "tip",
    "check": "tip",
    "done": "tip",
    "attention": "note",
    "seealso": "note",
    "danger": "warning",
    "error": "warning",
    "failure": "warning",
    "fail": "warning",
    "bug": "warning",
}

_ALERT = re.compile(r"^[ \t]*\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][ \t]*(?:\n|$)", re.I)
_TASK = re.compile(r"^\[([ xX])\](?:[ \t]+|$)")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# The tags _rewrite does more with than drop the class attribute.
_REWRITTEN = frozenset({"pre", "ul", "ol", "blockquote", "div", "code", "img", "a"})


def _unescape_code(text: str) -> str:
    """Undo markdown.util.code_escape exactly (html.unescape would also decode text the author
    typed as an entity, like "&amp;copy;" in code)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def github_slug(text: str) -> str:
    """The id GitHub gives a heading: lower-cased, punctuation removed, spaces to hyphens."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    kept = "".join(
        char
        for char in text
        if char in " -_" or unicodedata.category(char)[0] in "LNM"
    )
    return kept.replace(" ", "-")


# What a list item holds as blocks rather than as inline content.
_BLOCK_TAGS = frozenset(
    {"p", "ul", "ol", "blockquote", "table", "pre", "hr", "dl", "div", "ac:structured-macro", "ac:task-list"}
) | _HEADINGS


def _loosen(list_element: etree.Element) -> None:
    """CommonMark: a list is loose when any of its items is, and then every item's text is a
    paragraph. Python-Markdown decides item by item ("- a\n- b\n\n- c" wraps only b and c),
    which makes the spacing of one list uneven."""
    items = [item for item in list_element if item.tag == "li"]
    if not any(len(item) and item[0].tag == "p" and not (item.text or "").strip() for item in items):
        return
    for item in items:
        if not (item.text or "").strip() and (not len(item) or item[0].tag in _BLOCK_TAGS):
            continue
        paragraph = etree.Element("p")
        paragraph.text = item.text
        item.text = None
        while len(item) and item[0].tag not in _BLOCK_TAGS:
            child = item[0]
            item.remove(child)
            paragraph.append(child)
        item.insert(0, paragraph)


_ANCHOR_UNSAFE = re.compile(r"[^\w\-.]+")


def anchor_name(key: str) -> str:
    """A name for Confluence's anchor macro: the fragment itself ("getting-started", "fn-1"),
    without the characters Confluence would have to escape in the page URL."""
    return _ANCHOR_UNSAFE.sub("-", key).strip("-") or "anchor"


def heading_text(element: etree.Element) -> str:
    return " ".join("".join(element.itertext()).split())


class StorageRewriter:
    def __init__(self, attachments: list[str], resolve: Resolver | None = None) -> None:
        self.attachments = attachments
        self.resolve = resolve
        self.tasks = 0
        # Link targets on the page, by the fragment a Markdown link uses: GitHub's heading slugs
        # and the ids the footnotes extension gives its references and notes.
        self.targets: dict[str, etree.Element] = {}
        self.anchors: dict[str, str] = {}

    def run(self, root: etree.Element) -> None:
        # Only links to "#…" need targets. Without one, the only ids on the page are those of
        # <a name="…"> elements, which _link removes.
        wanted = self.resolve.wanted_anchors() if self.resolve is not None else ()
        if wanted or any((link.get("href") or "").startswith("#") for link in root.iter("a")):
            self._collect_targets(root)
            self._plant_anchors(root, wanted)
        self._rewrite_children(root)

    def _collect_targets(self, root: etree.Element) -> None:
        seen: dict[str, int] = {}
        for element in root.iter():
            if element.tag in _HEADINGS:
                slug = github_slug(heading_text(element))
                count = seen.get(slug, 0)
                seen[slug] = count + 1
                self.targets.setdefault(slug if count == 0 else f"{slug}-{count}", element)
            # get() first: reading .attrib gives every attribute-less element a dict of its own.
            element_id = element.get("id")
            if element_id is not None:
                del element.attrib["id"]
                self.targets.setdefault(element_id.lower(), element)

    def _plant_anchors(self, root: etree.Element, wanted: Collection[str] = ()) -> None:
        """An anchor macro in every target some link points at (on this page, or on another page
        of a publication: ``wanted``). Confluence's own heading ids differ between Cloud and Data
        Center and are not part of the storage format; an anchor macro's name is, so a link to it
        works wherever the page is shown."""
        fragments = [link.get("href") or "" for link in root.iter("a")]
        for href in [*fragments, *(f"#{fragment}" for fragment in wanted)]:
            if not href.startswith("#"):
                continue
            key = unquote(href[1:]).lower()
            target = self.targets.get(key)
            if target is None or key in self.anchors:
                continue
            name = anchor_name(key)
            self.anchors[key] = name
            holder = target
            while not (holder.text or "").strip() and len(holder) and holder[0].tag == "p":
                holder = holder[0]
            anchor, _ = macro("anchor", {"": name})
            anchor.tail, holder.text = holder.text, None
            holder.insert(0, anchor)

    def _rewrite_children(self, parent: etree.Element) -> None:
        index = 0
        while index < len(parent):
            child = parent[index]
            if child.tag not in _REWRITTEN:
                # Most elements (paragraphs, items, cells, emphasis) only lose their class:
                # storage format has no CSS.
                if child.get("class") is not None:
                    del child.attrib["class"]
                if len(child):
                    self._rewrite_children(child)
                index += 1
                continue
            replacement = self._rewrite(child)
            if replacement is None:
                self._rewrite_children(child)
            elif isinstance(replacement, list):
                # The element is unwrapped: its children take its place and are visited next.
                parent.remove(child)
                for offset, element in enumerate(replacement):
                    parent.insert(index + offset, element)
                continue
            else:
                replacement.tail = child.tail
                parent[index] = replacement
                self._rewrite_children(replacement)
            index += 1

    def _rewrite(self, element: etree.Element) -> etree.Element | list[etree.Element] | None:
        tag = element.tag
        classes = element.attrib.pop("class").split() if element.get("class") is not None else []
        if tag == "pre":
            return self._code(element)
        if tag == "ul":
            _loosen(element)
            return self._task_list(element)
        if tag == "ol":
            _loosen(element)
            return None
        if tag == "blockquote":
            return self._alert(element)
        if tag == "div":
            if "admonition" in classes:
                return self._admonition(element, classes)
            return list(element)
        if tag == "code":
            # Python-Markdown leaves code-span text HTML-escaped for its HTML serializer.
            if element.text and "&" in element.text:
                element.text = AtomicString(_unescape_code(element.text))
            return None
        if tag == "img":
            return self._image(element)
        if tag == "a":
            return self._link(element)
        return None

    def _code(self, element: etree.Element) -> etree.Element:
        # Python-Markdown's indented code: <pre><code> holding HTML-escaped text.
        # HTML ignores a line break right after <pre>; so does the code macro.
        code = "".join(element.itertext()).removeprefix("\n").rstrip("\n")
        return code_macro(_unescape_code(code) if "&" in code else code)

    def _task_list(self, element: etree.Element) -> etree.Element | None:
        items = list(element)
        if not items:
            return None
        markers: list[tuple[etree.Element, re.Match[str]]] = []
        for item in items:
            holder = item
            if not (item.text or "").strip() and len(item) and item[0].tag == "p":
                holder = item[0]
            match = _TASK.match(holder.text or "")
            if item.tag != "li" or match is None:
                return None
            markers.append((holder, match))
        task_list = etree.Element("ac:task-list")
        for item, (holder, match) in zip(items, markers, strict=True):
            holder.text = (holder.text or "")[match.end() :]
            task = etree.SubElement(task_list, "ac:task")
            # Confluence tracks each task by an id unique on the page, as its editor writes them.
            self.tasks += 1
            etree.SubElement(task, "ac:task-id").text = AtomicString(str(self.tasks))
            status = etree.SubElement(task, "ac:task-status")
            status.text = AtomicString("incomplete" if match.group(1) == " " else "complete")
            body = etree.SubElement(task, "ac:task-body")
            source = item
            if holder is not item and len(item) == 1:
                # A loose item with a single paragraph: the task body is that paragraph's text.
                source = holder
            body.text = source.text
            for child in list(source):
                body.append(child)
        return task_list

    def _alert(self, element: etree.Element) -> etree.Element | None:
        if not len(element) or element[0].tag != "p":
            return None
        first = element[0]
        match = _ALERT.match(first.text or "")
        if match is None:
            return None
        first.text = (first.text or "")[match.end() :]
        if not first.text and len(first) and first[0].tag == "br":
            # "[!NOTE]" followed by a hard break: the break belonged to the marker line.
            br = first[0]
            first.remove(br)
            first.text = br.tail
        panel, body = macro(ALERT_PANELS[match.group(1).lower()], rich_body=True)
        assert body is not None
        if not (first.text or "").strip() and not len(first):
            element.remove(first)
        for child in list(element):
            body.append(child)
        return panel

    def _admonition(self, element: etree.Element, classes: list[str]) -> etree.Element:
        kind = next((name for name in classes if name != "admonition"), "note").lower()
        parameters: dict[str, str] = {}
        children = list(element)
        if children and children[0].tag == "p" and children[0].get("class") == "admonition-title":
            title = heading_text(children[0])
            children = children[1:]
            if title and title != kind.capitalize():
                parameters["title"] = title
        panel, body = macro(ADMONITION_PANELS.get(kind, "info"), parameters, rich_body=True)
        assert body is not None
        for child in children:
            body.append(child)
        return panel

    def _image(self, element: etree.Element) -> etree.Element:
        source = (element.get("src") or "").strip()
        alt = element.get("alt") or ""
        title = element.get("title")
        if not source or not is_safe_url(source) or url_scheme(source) == "data":
            # Nothing we may show: keep the alternative text so the reader loses no words.
            fallback = etree.Element("span")
            fallback.text = AtomicString(alt)
            return fallback
        attributes = {"ac:alt": alt} if alt else {}
        if title:
            attributes["ac:title"] = title
        # <img width="400"> is how READMEs size an image; only plain pixel counts survive the allow-list.
        for size in ("width", "height"):
            if element.get(size):
                attributes[f"ac:{size}"] = element.get(size)
        image = etree.Element("ac:image", attributes)
        if is_absolute_url(source):
            url = "https:" + source if source.startswith("//") else source
            etree.SubElement(image, "ri:url", {"ri:value": url})
        else:
            path = clean_text(unquote(source.split("#", 1)[0].split("?", 1)[0]))
            filename = posixpath.basename(path)
            if self.resolve is not None:
                resolved = self.resolve.image(path)
                if resolved is None:
                    fallback = etree.Element("span")
                    fallback.text = AtomicString(alt)
                    return fallback
                filename = resolved
            if path not in self.attachments:
                self.attachments.append(path)
            # Confluence attachments are flat: the file is attached under its base name.
            etree.SubElement(image, "ri:attachment", {"ri:filename": filename})
        return image

    def _link(self, element: etree.Element) -> etree.Element | None:
        if element.get("id") is not None:
            # A named place no link points at: the name has no use on the page.
            del element.attrib["id"]
        href = element.get("href")
        if href is None:
            # A link without a target (<a name="…">) keeps its text, and its anchor if planted.
            element.tag = "span"
            return None
        if not is_safe_url(href):
            # A javascript:/data:/vbscript: target is removed; the link text stays.
            del element.attrib["href"]
            element.tag = "span"
            element.attrib.pop("title", None)
            return None
        if href.startswith("#"):
            anchor = self.anchors.get(unquote(href[1:]).lower())
            if anchor is not None:
                link = etree.Element("ac:link", {"ac:anchor": anchor})
                body = etree.SubElement(link, "ac:plain-text-link-body")
                body.text = AtomicString("".join(element.itertext()))
                return link
        elif self.resolve is not None and not is_absolute_url(href):
            return self._resolved_link(element, href)
        return None

    def _resolved_link(self, element: etree.Element, href: str) -> etree.Element | None:
        from .resolve import AttachmentLink, PageLink, TextOnly

        target = self.resolve.link(href) if self.resolve is not None else None
        if target is None:
            return None
        if isinstance(target, TextOnly):
            del element.attrib["href"]
            element.attrib.pop("title", None)
            element.tag = "span"
            return None
        attributes = {}
        if isinstance(target, PageLink) and target.anchor:
            attributes["ac:anchor"] = anchor_name(unquote(target.anchor).lower())
        link = etree.Element("ac:link", attributes)
        if isinstance(target, PageLink):
            page = {"ri:content-title": target.title}
            if target.space_key:
                page["ri:space-key"] = target.space_key
            etree.SubElement(link, "ri:page", page)
        elif isinstance(target, AttachmentLink):
            etree.SubElement(link, "ri:attachment", {"ri:filename": target.filename})
        # A rich body: the link's words keep their emphasis, code or image.
        body = etree.SubElement(link, "ac:link-body")
        body.text = element.text
        for child in list(element):
            body.append(child)
        return link

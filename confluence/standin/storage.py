"""Confluence storage format: the well-formedness check Confluence applies, and a readable HTML rendering for the
stand-in's page view."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextvars import ContextVar
from html.entities import name2codepoint

AC = "http://atlassian.com/content"
RI = "http://atlassian.com/resource/identifier"

# Storage format is XHTML: HTML's named entities (&nbsp;, &mdash; ...) are allowed although XML alone knows five.
_ENTITIES = "".join(
    f'<!ENTITY {name} "&#{code};">'
    for name, code in name2codepoint.items()
    if name not in {"amp", "lt", "gt", "quot", "apos"}
)
_PROLOG = f"<!DOCTYPE root [{_ENTITIES}]>"
_OPEN = f'<root xmlns:ac="{AC}" xmlns:ri="{RI}">'


class StorageError(ValueError):
    """The body is not well-formed storage XHTML; the message is the parser's."""


def parse_storage(body: str) -> ET.Element:
    """Parse a storage body the way Confluence does: one XML fragment with the ac/ri namespaces declared."""
    try:
        # A body cannot carry its own DOCTYPE inside <root>, so the only entities are HTML's, declared above.
        return ET.fromstring(f"{_PROLOG}{_OPEN}{body}</root>")  # noqa: S314
    except ET.ParseError as exc:
        raise StorageError(str(exc)) from None


_VOID = {"br", "hr", "img", "col"}
_SAFE_ATTRS = {"href", "src", "alt", "title", "colspan", "rowspan", "class", "start"}
_PANELS = {"info", "note", "warning", "tip", "panel", "success", "error"}


AttachmentUrl = Callable[[str], str | None]  # file name -> where the page's attachment is served, or None
PageUrl = Callable[[str | None, str], str | None]  # (space key or None for the page's own, title) -> its view
_targets: ContextVar[tuple[AttachmentUrl | None, PageUrl | None]] = ContextVar("targets", default=(None, None))


def storage_to_html(body: str, *, attachment_url: AttachmentUrl | None = None, page_url: PageUrl | None = None) -> str:
    """HTML a browser shows readably: code macros as <pre>, panels as boxes, links and images resolved (attachments
    and pages through the look-ups given, when given)."""
    try:
        root = parse_storage(body)
    except StorageError:
        return f"<pre>{html.escape(body)}</pre>"
    token = _targets.set((attachment_url, page_url))
    try:
        return _children(root)
    finally:
        _targets.reset(token)


def _text(value: str | None) -> str:
    return html.escape(value or "", quote=False)


def _children(element: ET.Element) -> str:
    parts = [_text(element.text)]
    for child in element:
        parts.append(_render(child))
        parts.append(_text(child.tail))
    return "".join(parts)


def _attr(element: ET.Element, ns: str, name: str) -> str:
    return element.get(f"{{{ns}}}{name}", "")


def _render(element: ET.Element) -> str:
    tag = element.tag
    if tag.startswith(f"{{{AC}}}"):
        return _render_ac(tag[len(AC) + 2 :], element)
    if tag.startswith(f"{{{RI}}}"):
        return ""
    if tag in {"script", "style", "iframe", "object"}:
        return ""
    attrs = "".join(
        f' {name}="{html.escape(value)}"'
        for name, value in element.attrib.items()
        if name in _SAFE_ATTRS and not value.strip().lower().startswith("javascript:")
    )
    if tag in _VOID:
        return f"<{tag}{attrs}>"
    return f"<{tag}{attrs}>{_children(element)}</{tag}>"


def _render_ac(name: str, element: ET.Element) -> str:
    if name == "structured-macro":
        return _render_macro(element)
    if name == "link":
        target = element.find(f"{{{RI}}}page")
        url = element.find(f"{{{RI}}}url")
        body = element.find(f"{{{AC}}}link-body")
        if body is None:  # not ``or``: an element without children is false
            body = element.find(f"{{{AC}}}plain-text-link-body")
        label = _children(body) if body is not None else ""
        attachment = element.find(f"{{{RI}}}attachment")
        attachment_url, page_url = _targets.get()
        if target is not None:
            title = _attr(target, RI, "content-title")
            href = page_url(_attr(target, RI, "space-key") or None, title) if page_url else None
            if href is None:
                return f'<a class="confluence-link" title="{html.escape(title)}">{label or _text(title)}</a>'
            anchor = _attr(element, AC, "anchor")
            href += f"#{_anchor_id(anchor)}" if anchor else ""
            return f'<a class="confluence-link" href="{html.escape(href)}">{label or _text(title)}</a>'
        if attachment is not None:
            filename = _attr(attachment, RI, "filename")
            href = attachment_url(filename) if attachment_url else None
            if href is None:
                return f'<span class="attachment">{label or _text(filename)}</span>'
            return f'<a class="attachment" href="{html.escape(href)}">{label or _text(filename)}</a>'
        if url is not None:
            href = _attr(url, RI, "value")
            return f'<a href="{html.escape(href)}">{label or _text(href)}</a>'
        anchor = _attr(element, AC, "anchor")
        if anchor:
            return f'<a href="#{html.escape(_anchor_id(anchor))}">{label or _text(anchor)}</a>'
        return label
    if name == "image":
        url = element.find(f"{{{RI}}}url")
        attachment = element.find(f"{{{RI}}}attachment")
        alt = _attr(element, AC, "alt")
        if url is not None:
            return f'<img src="{html.escape(_attr(url, RI, "value"))}" alt="{html.escape(alt)}">'
        if attachment is not None:
            filename = _attr(attachment, RI, "filename")
            attachment_url = _targets.get()[0]
            src = attachment_url(filename) if attachment_url else None
            if src is None:
                return f'<span class="attachment">[image: {_text(filename)}]</span>'
            return f'<img src="{html.escape(src)}" alt="{html.escape(alt or filename)}">'
        return ""
    if name == "emoticon":
        return _text(_attr(element, AC, "emoji-fallback") or f":{_attr(element, AC, 'name')}:")
    if name == "task-list":
        return f'<ul class="tasks">{_children(element)}</ul>'
    if name == "task":
        done = (element.findtext(f"{{{AC}}}task-status") or "") == "complete"
        body = element.find(f"{{{AC}}}task-body")
        return f"<li>{'☑' if done else '☐'} {_children(body) if body is not None else ''}</li>"
    if name in {"placeholder", "parameter", "task-id", "task-status"}:
        return ""
    return _children(element)


def _render_macro(element: ET.Element) -> str:
    name = _attr(element, AC, "name")
    params = {_attr(p, AC, "name"): (p.text or "") for p in element.findall(f"{{{AC}}}parameter")}
    plain = element.find(f"{{{AC}}}plain-text-body")
    rich = element.find(f"{{{AC}}}rich-text-body")
    inner = _children(rich) if rich is not None else ""
    title = params.get("title", "")
    if name in {"code", "noformat"}:
        language = params.get("language", "")
        code = plain.text if plain is not None else ""
        caption = f'<div class="code-title">{_text(title)}</div>' if title else ""
        return f'<div class="code-block">{caption}<pre data-language="{html.escape(language)}"><code>{_text(code)}</code></pre></div>'
    if name in _PANELS:
        heading = f"<strong>{_text(title)}</strong>" if title else ""
        return f'<div class="panel panel-{html.escape(name)}">{heading}{inner}</div>'
    if name == "expand":
        return f"<details><summary>{_text(title or 'Click here to expand...')}</summary>{inner}</details>"
    if name == "status":
        return f'<span class="status status-{html.escape(params.get("colour", "grey").lower())}">{_text(title)}</span>'
    if name == "toc":
        return '<div class="toc">[table of contents]</div>'
    if name == "anchor":
        return f'<a id="{html.escape(_anchor_id(params.get("", "")))}"></a>'

    return f'<div class="macro"><em>[{_text(name)} macro]</em>{inner}</div>'


def _anchor_id(name: str) -> str:
    # Confluence prefixes anchor ids with the page title; one page is shown at a time here, so the name will do.
    return "anchor-" + name

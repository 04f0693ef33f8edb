"""Character-level safety: what may appear in XML 1.0, how text and attributes are escaped,
and which URLs may be emitted."""

from __future__ import annotations

import re

# Everything outside XML 1.0's Char production. NUL and lone surrogates become U+FFFD (CommonMark
# replaces NUL the same way, and a surrogate usually stood for a real character); every other
# forbidden control character carries no meaning on a page and is dropped.
_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_REPLACED = frozenset("\x00") | frozenset(chr(c) for c in range(0xD800, 0xE000))


def _replace_forbidden(match: re.Match[str]) -> str:
    return "\ufffd" if match.group() in _REPLACED else ""


def clean_text(text: str) -> str:
    """Return text holding only characters XML 1.0 allows, with newlines normalised to \\n.

    Removing STX/ETX here also means nothing typed by the author can forge one of
    Python-Markdown's placeholders, which are delimited by those two characters.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _FORBIDDEN.search(text) is not None:
        text = _FORBIDDEN.sub(_replace_forbidden, text)
    return text


def escape_text(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def escape_attribute(value: str) -> str:
    value = escape_text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    # Character references keep literal newlines and tabs from being normalised to spaces by
    # the XML parser's attribute-value normalisation.
    if "\n" in value or "\t" in value or "\r" in value:
        value = value.replace("\n", "&#10;").replace("\t", "&#9;").replace("\r", "&#13;")
    return value


def cdata(text: str) -> str:
    """Wrap text in CDATA; a literal ``]]>`` is split across two sections so it survives."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
# Browsers ignore ASCII whitespace and control characters inside a scheme ("java\tscript:"),
# so they are removed before the scheme is judged.
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f]+")
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "ftp", "ftps", "tel", "sftp", "ssh", "git"})


def url_scheme(url: str) -> str | None:
    match = _SCHEME.match(_IGNORED_IN_SCHEME.sub("", url))
    return match.group(1).lower() if match else None


def is_safe_url(url: str) -> bool:
    """A URL is safe when it is relative or uses a scheme that cannot run code."""
    scheme = url_scheme(url)
    return scheme is None or scheme in SAFE_SCHEMES


def is_absolute_url(url: str) -> bool:
    return url.startswith("//") or url_scheme(url) is not None

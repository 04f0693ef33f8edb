"""Builders for Confluence storage-format elements. The serializer writes ``ac:``/``ri:`` tags
literally; they can only come from here, never from author-typed HTML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown.util import AtomicString

# Elements whose text the serializer writes as CDATA.
CDATA_TAGS = frozenset({"ac:plain-text-body", "ac:plain-text-link-body"})


def macro(
    name: str,
    parameters: dict[str, str] | None = None,
    *,
    rich_body: bool = False,
    plain_body: str | None = None,
) -> tuple[etree.Element, etree.Element | None]:
    """Return (macro element, rich-text body element or None)."""
    element = etree.Element("ac:structured-macro", {"ac:name": name})
    for key, value in (parameters or {}).items():
        parameter = etree.SubElement(element, "ac:parameter", {"ac:name": key})
        parameter.text = AtomicString(value)
    body = None
    if rich_body:
        body = etree.SubElement(element, "ac:rich-text-body")
    if plain_body is not None:
        plain = etree.SubElement(element, "ac:plain-text-body")
        plain.text = AtomicString(plain_body)
    return element, body


# Confluence's code macro knows a fixed set of language names; anything else makes it show an
# error box, so unknown languages get no parameter at all (plain text).
_CONFLUENCE_LANGUAGES = (
    "actionscript3", "applescript", "bash", "csharp", "coldfusion", "cpp", "css", "delphi", "diff",
    "erlang", "groovy", "java", "javafx", "javascript", "perl", "php", "powershell", "python",
    "ruby", "sass", "scala", "sql", "vb", "yaml", "xml", "c", "go", "kotlin", "rust", "swift",
    "typescript", "json", "lua", "r", "matlab", "dart", "haskell", "clojure", "elixir", "fortran",
    "graphql", "julia", "latex", "objective-c", "ocaml", "pascal", "prolog", "puppet", "scheme",
    "tcl", "verilog", "vhdl", "dockerfile",
)
_LANGUAGES = {name: name for name in _CONFLUENCE_LANGUAGES}
_LANGUAGES.update(
    {
        "as3": "actionscript3", "actionscript": "actionscript3",
        "sh": "bash", "shell": "bash", "zsh": "bash", "console": "bash", "shell-session": "bash",
        "c#": "csharp", "cs": "csharp", "dotnet": "csharp",
        "c++": "cpp", "cc": "cpp", "cxx": "cpp", "hpp": "cpp", "h": "c",
        "pas": "delphi", "patch": "diff", "erl": "erlang",
        "js": "javascript", "jsx": "javascript", "mjs": "javascript", "cjs": "javascript",
        "node": "javascript", "ts": "typescript", "tsx": "typescript",
        "pl": "perl", "ps1": "powershell", "pwsh": "powershell", "ps": "powershell",
        "py": "python", "python3": "python", "py3": "python", "pycon": "python", "rb": "ruby",
        "scss": "sass", "vbnet": "vb", "vb.net": "vb", "yml": "yaml",
        "html": "xml", "xhtml": "xml", "svg": "xml", "htm": "xml",
        "golang": "go", "kt": "kotlin", "kts": "kotlin", "rs": "rust",
        "objc": "objective-c", "objectivec": "objective-c", "tex": "latex",
        "docker": "dockerfile", "postgresql": "sql", "mysql": "sql", "plsql": "sql",
        "jsonc": "json", "json5": "json", "hs": "haskell", "clj": "clojure", "ex": "elixir",
        "exs": "elixir",
    }
)


def info_word(info: str) -> str:
    """The first word of a fence's info string, lower-cased: ``python``, ``{.py}``, ``js title="x"``."""
    word = info.strip().split(None, 1)[0] if info.strip() else ""
    return word.strip("{}").lstrip(".").lower()


def confluence_language(info: str) -> str | None:
    """Map a fence's info word (``python``, ``{.py}``, ``js title="x"``) to Confluence's name."""
    word = info_word(info)
    if word.startswith("language-"):
        word = word[len("language-") :]
    return _LANGUAGES.get(word)


# MkDocs and many READMEs name the file a block shows: ```python title="app.py"
_INFO_TITLE = re.compile(r"""(?:^|[\s{])title=(?:"([^"]*)"|'([^']*)'|([^\s}]+))""")


def code_macro(code: str, info: str = "") -> etree.Element:
    parameters: dict[str, str] = {}
    language = confluence_language(info)
    if language:
        parameters["language"] = language
    title = _INFO_TITLE.search(info) if "title=" in info else None
    if title is not None:
        text = next(group for group in title.groups() if group is not None).strip()
        if text:
            parameters["title"] = text
    element, _ = macro("code", parameters or None, plain_body=code)
    return element

"""Fidelity over a corpus of real-world-shaped documents (``tests/converter/corpus/``: a README, a runbook,
an ADR, API docs, a guide, a landing page): for each construct, how often the Markdown uses it and how many of
the Confluence constructs it should become reach the stand-in's rendered page, over real HTTP.

Inputs are counted from the Markdown with expressions of their own (not the converter's); outputs from the
stand-in's page view, where every macro carries ``data-macro``. The recall table is printed (``pytest -s``) and
every construct must come through completely. The figure is reported in the README beside the converter's speed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from confluence.client import ConfluenceClient
from confluence.converter import Diagrams, MathMacros, convert
from confluence.converter.diagrams import MermaidCli, PlantUmlCommand
from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN, StandinServer

CORPUS = Path(__file__).parent / "corpus"
RENDERERS = Path(__file__).parent / "renderers"
OPTIONS = {
    "math": MathMacros(),
    "diagrams": Diagrams(
        mermaid=MermaidCli([sys.executable, str(RENDERERS / "fake_mmdc.py")]),
        plantuml=PlantUmlCommand([sys.executable, str(RENDERERS / "fake_plantuml.py")]),
    ),
}


def _fences(markdown: str) -> list[str]:
    """The info word of every fenced block."""
    words: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        stripped = line.strip()
        if fence is None:
            opening = re.match(r"(`{3,}|~{3,})\s*([\w+-]*)", stripped)
            if opening:
                fence = opening.group(1)
                words.append(opening.group(2).lower())
        elif stripped.startswith(fence) and not stripped.strip(fence[0]):
            fence = None
    return words


def _display_math(markdown: str) -> int:
    count, inside = 0, False
    for line in markdown.split("\n"):
        stripped = line.strip()
        if not stripped.startswith("$$"):
            continue
        if not inside and len(stripped) > 4 and stripped.endswith("$$"):
            count += 1
        elif not inside:
            count, inside = count + 1, True
        else:
            inside = False
    return count + _fences(markdown).count("math")


def _count(pattern: str, flags: int = re.MULTILINE) -> Callable[[str], int]:
    expression = re.compile(pattern, flags)
    return lambda text: len(expression.findall(text))


def _plus(*counters: Callable[[str], int]) -> Callable[[str], int]:
    return lambda text: sum(counter(text) for counter in counters)


def _macro(*names: str) -> Callable[[str], int]:
    return _count("|".join(f'data-macro="{re.escape(name)}"' for name in names))


DIAGRAM_WORDS = {"mermaid", "plantuml", "puml"}
SPECIAL_FENCES = DIAGRAM_WORDS | {"noformat", "math"}
# construct: (occurrences in the Markdown, what reached the stand-in's page)
CONSTRUCTS: dict[str, tuple[Callable[[str], int], Callable[[str], int]]] = {
    "alerts and admonitions (info/tip/note/warning panels)": (
        _plus(_count(r"^\s*>\s*\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*$"),
              _count(r"^\s*(?:!!!|\?\?\?\+?) +(?!panel\b)\w+")),
        _macro("info", "tip", "note", "warning"),
    ),
    "collapsible blocks (??? and <details>) as expand": (
        _count(r"^\s*(?:\?\?\? |<details>)"), _macro("expand")),
    "panels with title and colours": (_count(r"^\s*!!! panel\b"), _macro("panel")),
    "code blocks": (lambda text: sum(word not in SPECIAL_FENCES for word in _fences(text)), _macro("code")),
    "noformat blocks": (lambda text: _fences(text).count("noformat"), _macro("noformat")),
    "status lozenges": (_count(r"\{status:"), _macro("status")),
    "table of contents": (_count(r"^\[TOC\]$"), _macro("toc")),
    "child page lists": (_count(r"^(?:\[CHILDREN\]|\[\[_TOSP_\]\])$"), _macro("children")),
    "task lists (tasks)": (_count(r"^\s*- \[[ x]\] "), _count("[☐☑]")),
    "links to headings (anchor links)": (_count(r"\]\(#[^)\s]+\)"), _count(r'href="#anchor-(?!fn)')),
    "footnotes (linked both ways)": (_count(r"\[\^[^\]\s]+\](?!:)"), _count(r'href="#anchor-fn-')),
    "links to attached files": (
        _count(r"(?<!!)\[[^\]]*\]\((?![a-z]+:|#|/)[^)\s]*\.(?!md\)|html?\))[A-Za-z0-9]+\)"),
        _count(r'class="attachment-link"')),
    "images from the bundle (attachments)": (
        _count(r"!\[[^\]]*\]\((?![a-z]+:)"), _count(r'class="attachment" data-attachment="(?!mermaid-|plantuml-)')),
    "images from the web": (_count(r"!\[[^\]]*\]\(https?:"), _count(r"<img src=")),
    "diagrams (rendered attachments)": (
        lambda text: sum(word in DIAGRAM_WORDS for word in _fences(text)),
        _count(r'data-attachment="(?:mermaid|plantuml)-')),
    "inline math": (_count(r"(?<![\\$\w])\$[^\s$](?:[^$\n]*?[^\s\\])?\$(?![$\d])"), _macro("mathinline")),
    "display math": (_display_math, _macro("mathblock")),
    "sub- and superscripts": (
        _count(r"<sub>|<sup>|(?<=[A-Za-z0-9])~[^\s~]+~|\^[^\s^]+\^"),
        # A footnote's number is a <sup> too.
        _count(r'<sub>|<sup>(?!<a id="anchor-fnref)')),
    "highlights": (_count(r"<mark>|==[^=\s][^=]*=="), _count(r'<span style="background-color')),
    "insertions and deletions": (_count(r"<ins>|<del>|~~[^~]+~~"), _count(r"<u>|<del>")),
    "keyboard keys": (_count(r"<kbd>"), lambda html: 0),  # filled in below: shown as code
}


@pytest.fixture(scope="module")
def client() -> Iterator[ConfluenceClient]:
    with StandinServer(port=0) as server, ConfluenceClient(
        base_url=server.url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN
    ) as confluence:
        yield confluence


def _kbd_as_code(markdown: str, html: str) -> int:
    # <kbd>X</kbd> is shown as code: each key's text must appear in a <code> of the page.
    keys = re.findall(r"<kbd>(.*?)</kbd>", markdown)
    return sum(f"<code>{re.escape(key)}</code>" in html or f"<code>{key}</code>" in html for key in keys)


def test_corpus_recall_per_construct(client: ConfluenceClient, capsys: pytest.CaptureFixture[str]) -> None:
    space = client.space("DOCS")
    expected = dict.fromkeys(CONSTRUCTS, 0)
    # With a diagram renderer and a math app configured, and with neither (the defaults).
    found = {"configured": dict.fromkeys(CONSTRUCTS, 0), "defaults": dict.fromkeys(CONSTRUCTS, 0)}
    documents = sorted(CORPUS.rglob("*.md"))
    assert len(documents) >= 6
    for path in documents:
        markdown = path.read_text(encoding="utf-8")
        for name, (count_input, _) in CONSTRUCTS.items():
            expected[name] += count_input(markdown)
        for setup, options in (("configured", OPTIONS), ("defaults", {})):
            converted = convert(markdown, **options)  # type: ignore[arg-type]
            assert converted.warnings == [], (path, converted.warnings)
            title = f"{path.relative_to(CORPUS)} ({setup})"
            page = client.create_page(space_id=space.id, title=title, body=converted.body)
            assert page.web_url is not None
            html = requests.get(page.web_url, timeout=10).text
            for name, (_, count_output) in CONSTRUCTS.items():
                found[setup][name] += _kbd_as_code(markdown, html) if name == "keyboard keys" else count_output(html)

    def recall(setup: str, names: list[str]) -> tuple[int, float]:
        kept = sum(min(found[setup][name], expected[name]) for name in names)
        total = sum(expected[name] for name in names)
        return kept, kept / total

    lines = [f"{'construct':<56} {'in':>4} {'out':>4} {'recall':>7} {'without renderer/math app':>26}"]
    for name in CONSTRUCTS:
        lines.append(f"{name:<56} {expected[name]:>4} {found['configured'][name]:>4} "
                     f"{recall('configured', [name])[1]:>7.0%} {recall('defaults', [name])[1]:>26.0%}")
    kept, share = recall("configured", list(CONSTRUCTS))
    lines.append(f"{'all constructs':<56} {sum(expected.values()):>4} {kept:>4} {share:>7.1%} "
                 f"{recall('defaults', list(CONSTRUCTS))[1]:>26.1%}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    # Every construct is used by the corpus, and comes through exactly: none lost, none made up.
    assert all(expected.values()), [name for name, count in expected.items() if not count]
    assert found["configured"] == expected
    # Without a renderer or math app only diagrams and math fall back to source code, all else is the same.
    fallbacks = {"diagrams (rendered attachments)", "inline math", "display math"}
    assert {name: count for name, count in found["defaults"].items() if name not in fallbacks | {"code blocks"}} == {
        name: count for name, count in expected.items() if name not in fallbacks | {"code blocks"}
    }

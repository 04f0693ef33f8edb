"""Whatever the input, the output is well-formed storage XML and carries nothing dangerous."""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confluence.converter import Diagrams, MathMacros, convert
from confluence.converter.diagrams import DiagramError

from .xml import parse

# Fragments of Markdown syntax, HTML and XML trouble-makers, glued together at random.
PIECES = [
    "# ", "## ", "\n", "\n\n", "  \n", "- ", "* ", "1. ", "3) ", "  - ", "    ", "> ", ">> ", "- [ ] ", "- [x] ",
    "```", "```python\n", "~~~", "    code", "`", "*", "**", "_", "~~", "[", "]", "(", ")", "![", "](", "<", ">",
    "&", "&amp;", "&nbsp;", "&#0;", "&#x1F600;", "&bogus;", "]]>", "<![CDATA[", "<script>", "</script>",
    "<details>", "<summary>", "</summary>", "</details>", "<br>", "<sub>", "</sub>", "<span onclick='x'>",
    "</span>", "<!--", "-->", "<ac:structured-macro ac:name=\"html\">", "</ac:structured-macro>", "<ri:url/>",
    "| a | b |\n|---|:-:|\n", "| ", "[TOC]", "[[_TOC_]]", "[!NOTE]", "!!! note\n", "[^1]", "[^1]: ", ": ",
    "---\n", "title: x\n", "\\", "javascript:alert(1)", "https://e.com/a.png", "img.png", "#anchor", "\t", "\x00",
    "\x01", "\x0b", "\ud800", "\udfff", "\ufffe", "\uffff", "\r", "\r\n", "é", "😀", "text ", "word",
    "<div>", "</div>", "<p>", "</p>", "<b>", "</b>", "<table>", "<tr><td>", "</td></tr>", "<pre>", "</pre>",
    "<img src=x.png width=9>", "a@b.co ", "~", "\\\n", "```python title=\"a.py\"\n", "[x](#word)", "## x ##  ",
    '<a name="word">', "</a>", "===\n", "-\n", "??? tip ", "???+ ", '!!! panel "T" bgColor=#fff ', "{status:green|",
    "{status:red}", "}", "\\|", "```noformat\n", "[CHILDREN]", "[[_TOSP_]]", "^", "==", "H~2~O", "<mark>", "<kbd>", "$", "$$\n", "$x$", "$$", "```math\n", "\\$", "```mermaid\n", "```puml\n",
]

markdown_like = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)

XML_NAMESPACED = ("{http://atlassian.com/content}", "{http://atlassian.com/resource/identifier}")
DANGEROUS_TAGS = {"script", "style", "iframe", "object", "embed"}
# Attributes a browser follows; alt text or a title saying "javascript:" is only words.
URL_ATTRIBUTES = {"href", "src", "{http://atlassian.com/resource/identifier}value"}


def assert_safe(markdown: str, **options: object) -> None:
    body = convert(markdown, **options).body  # type: ignore[arg-type]
    root = parse(body)  # raises if the output is not well-formed XML
    for element in root.iter():
        assert element.tag not in DANGEROUS_TAGS
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on")
            if name in URL_ATTRIBUTES:
                # Browsers ignore whitespace and control characters before and inside a scheme.
                assert not "".join(char for char in value if char > " ").lower().startswith("javascript:")
        if element.tag == "{http://atlassian.com/content}structured-macro":
            assert element.get("{http://atlassian.com/content}name") in {
                "code", "info", "tip", "note", "warning", "toc", "expand", "anchor", "panel", "noformat", "status",
                "children", "mathblock", "mathinline",
            }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_converts_to_well_formed_xml(text):
    assert_safe(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown_like)
def test_markdown_like_text_converts_to_well_formed_xml(markdown):
    assert_safe(markdown)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown_like)
def test_markdown_like_text_with_every_option_converts_to_well_formed_xml(markdown):
    assert_safe(markdown, math=MathMacros(), diagrams=Diagrams(mermaid=_Renderer(), plantuml=_Renderer()))


class _Renderer:
    """Renders every other diagram, so both paths are drawn."""

    def render(self, source: str) -> bytes:
        if len(source) % 2:
            raise DiagramError("odd]]> <b>&")
        return b"\x89PNG\r\n\x1a\n"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cs", "Co", "Cn", "Zs"])))
def test_control_characters_and_surrogates(text):
    body = convert("a" + text + "b").body
    parse(body)


def test_forbidden_characters_are_dropped_or_replaced():
    body = convert("a\x00b\x01c\ud800d\ufffee\x0bf").body
    assert body == "<p>a\ufffdbc\ufffdd" + "ef</p>"


def test_cdata_terminator_in_text_and_code():
    for markdown in ["a ]]> b", "`]]>`", "```\n]]>\n```", "    ]]>", "[x](]]>)", "![]]>](a]]>.png)"]:
        assert_safe(markdown)


def test_bare_ampersands_and_angles():
    body = convert("a & b < c > d &&& <<>> &#; &#x; &#99999999;").body
    # An out-of-range character reference decodes to U+FFFD, as in HTML.
    assert parse(body).find("p").text == "a & b < c > d &&& <<>> &#; &#x; \ufffd"


def test_a_footnote_holding_an_html_paragraph_converts():
    # The footnotes extension appends to its last paragraph's text, which HTML-built paragraphs
    # with an element first did not have (a TypeError, found by fuzzing).
    body = convert("x[^1]\n\n[^1]: <p><b>bold</b> note</p>").body
    parse(body)
    assert "</ac:structured-macro><strong>bold</strong> note\u00a0<ac:link" in body


def test_malformed_declaration_in_html_block_is_shown_as_text():
    # html.parser raises an AssertionError on "<![" followed by a line break.
    body = convert("<div><![\nx").body
    assert parse(body).find("p").text == "<div><![\nx"


def timed(markdown: str) -> float:
    start = time.perf_counter()
    assert_safe(markdown)
    return time.perf_counter() - start


NASTY = {
    "10,000-item list": "\n".join(f"- item {n}" for n in range(10_000)),
    "10,000 tasks": "\n".join(f"- [x] task {n}" for n in range(10_000)),
    "500-deep blockquote": ">" * 500 + " deep",
    "500-deep blockquote lines": "\n".join(">" * n + " x" for n in range(1, 501)),
    "500-deep list, 2 spaces": "\n".join("  " * n + "- x" for n in range(500)),
    "500-deep list, 4 spaces": "\n".join("    " * n + "- x" for n in range(500)),
    "500-deep quote in list": "> - " * 500 + "x",
    "500-deep details": "<details>\n\n" * 500 + "x" + "\n\n</details>" * 500,
    "500-deep admonitions": "".join("    " * n + "!!! note\n" for n in range(500)) + "    " * 500 + "x",
    "500-deep emphasis": "*" * 500 + "x" + "*" * 500,
    "500-deep spans": "<span>" * 500 + "x" + "</span>" * 500,
    "1 MB line of words": "word " * 200_000,
    "1 MB line of brackets": "[" * 1_000_000,
    "1 MB line of <": "<" * 1_000_000,
    "1 MB line of unclosed tags": "<sub>" * 200_000,
    "1 MB line of unclosed comments": "<!--" * 250_000,
    "1 MB line of emphasis": "*a " * 330_000,
    "1 MB line of entities": "&amp;" * 200_000,
    "1 MB line of backticks": "`a" * 500_000,
    "1 MB line in code": "```\n" + "x]]>" * 250_000 + "\n```",
}


@pytest.mark.parametrize("markdown", NASTY.values(), ids=NASTY.keys())
def test_nasty_input_is_safe_and_quick(markdown):
    assert timed(markdown) < 5


def test_deep_nesting_is_capped_not_an_error():
    body = convert("\n".join("  " * n + "- level" for n in range(500))).body
    depth = max(len(path) for path in _paths(parse(body)))
    assert 20 <= depth < 200


def _paths(element, prefix=()):
    yield prefix
    for child in element:
        yield from _paths(child, (*prefix, child.tag))


def test_threads_get_identical_results():
    from concurrent.futures import ThreadPoolExecutor

    documents = [f"# T{n}\n\n- [ ] a\n\ntext[^1]\n\n[^1]: note {n}\n\n![i](p{n}.png)" for n in range(40)]
    expected = [convert(document) for document in documents]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(convert, documents)) == expected

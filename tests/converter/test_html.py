"""Raw HTML: a short allow-list comes through as well-formed XML, everything else is text or gone."""

import pytest

from confluence.converter import convert

from .xml import assert_converts, parse


def test_allow_listed_inline_tags():
    assert_converts(
        "H<sub>2</sub>O x<sup>2</sup> <u>u</u> <kbd>Ctrl</kbd> <mark>m</mark> <span>s</span> a<br>b<br/>c",
        "<p>H<sub>2</sub>O x<sup>2</sup> <u>u</u> <kbd>Ctrl</kbd> <mark>m</mark> <span>s</span> a<br/>b<br/>c</p>",
    )


def test_markdown_inside_inline_tags_still_renders():
    assert_converts("<kbd>**b**</kbd>", "<p><kbd><strong>b</strong></kbd></p>")


def test_unknown_and_dangerous_inline_tags_are_text():
    assert_converts(
        "a <script>alert(1)</script> <iframe src=x> <blink>b</blink>",
        "<p>a &lt;script&gt;alert(1)&lt;/script&gt; &lt;iframe src=x&gt; &lt;blink&gt;b&lt;/blink&gt;</p>",
    )


def test_event_handlers_and_styles_are_removed():
    assert_converts('<span onclick="x()" style="color:red" title="t">s</span>', '<p><span title="t">s</span></p>')


def test_javascript_urls_are_removed():
    assert_converts('<a href="javascript:alert(1)">x</a> [y](JaVaScRiPt:alert(1))', "<p><span>x</span> <span>y</span></p>")
    assert_converts('<a href="  java\tscript:alert(1)">x</a>', "<p><span>x</span></p>")


def test_safe_html_link():
    assert_converts('<a href="https://e.com" target="_blank">e</a>', '<p><a href="https://e.com">e</a></p>')


def test_comments_disappear():
    assert_converts("a <!-- hidden --> b\n\n<!--\nblock\n\ncomment\n-->\n\nc", "<p>a  b</p><p>c</p>")


def test_script_block_is_removed_with_its_content():
    assert_converts("<script>\nalert(1)\n\nmore()\n</script>\n\nafter", "<p>after</p>")


def test_simple_html_table():
    assert_converts(
        '<table>\n<tr><th colspan="2" style="x">H</th></tr>\n<tr><td onclick="x">1 &amp; <b>2</b></td><td>**raw**</td></tr>\n</table>',
        '<table><tr><th colspan="2">H</th></tr><tr><td>1 &amp; <strong>2</strong></td><td>**raw**</td></tr></table>',
    )


def test_html_block_unknown_containers_are_unwrapped():
    assert_converts('<div align="center">\n<img src="logo.png" alt="Logo" onerror="x">\n</div>', '<p><ac:image ac:alt="Logo"><ri:attachment ri:filename="logo.png"/></ac:image></p>')


@pytest.mark.parametrize(
    "markdown",
    [
        '<ac:structured-macro ac:name="html"><ac:plain-text-body><![CDATA[<script>]]></ac:plain-text-body></ac:structured-macro>',
        'text <ac:structured-macro ac:name="html">x</ac:structured-macro>',
        '<ri:attachment ri:filename="x"/>',
        "<div><ac:link><ri:page ri:content-title='X'/></ac:link></div>",
    ],
)
def test_author_typed_confluence_markup_never_becomes_elements(markdown):
    root = parse(convert(markdown).body)
    namespaced = [element.tag for element in root.iter() if element.tag.startswith("{")]
    assert namespaced == []


def test_no_macro_appears_that_the_markdown_did_not_ask_for():
    body = convert('<div>\n<ac:structured-macro ac:name="toc"/>\n</div>\n\n<script>x</script>').body
    assert "structured-macro" not in body.replace("&lt;ac:structured-macro", "")

"""Raw HTML: a short allow-list comes through as well-formed XML, everything else is text or gone."""

import pytest

from confluence.converter import convert

from .xml import assert_converts, parse

HIGHLIGHT = '<span style="background-color: rgb(255,247,214);">'


def test_allow_listed_inline_tags():
    # Confluence has no keyboard, highlight or insertion element: <kbd> becomes code, <mark> its
    # yellow highlight, <ins> underline; the others are Confluence's own.
    assert_converts(
        "H<sub>2</sub>O x<sup>2</sup> <u>u</u> <kbd>Ctrl</kbd> <mark>m</mark> <ins>i</ins> <del>d</del> <s>s</s> "
        "<span>s</span> a<br>b<br/>c",
        f"<p>H<sub>2</sub>O x<sup>2</sup> <u>u</u> <code>Ctrl</code> {HIGHLIGHT}m</span> <u>i</u> <del>d</del> "
        "<del>s</del> <span>s</span> a<br/>b<br/>c</p>",
    )


def test_markdown_inside_inline_tags_still_renders():
    assert_converts("<kbd>**b**</kbd> <mark>*e*</mark>", f"<p><code><strong>b</strong></code> {HIGHLIGHT}<em>e</em></span></p>")


def test_sub_and_superscript_and_mark_syntax():
    assert_converts(
        "H~2~O, CO~2~ and x~i~; 2^10^ is 1024, e^-x^; ==read **this**==.",
        f"<p>H<sub>2</sub>O, CO<sub>2</sub> and x<sub>i</sub>; 2<sup>10</sup> is 1024, e<sup>-x</sup>; "
        f"{HIGHLIGHT}read <strong>this</strong></span>.</p>",
    )


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        # GitHub's single-tilde strikethrough outside a word, paths with tildes, lone carets and equals signs.
        ("a ~gone~ b", "<p>a <del>gone</del> b</p>"),
        ("cd ~/src and ~/bin", "<p>cd ~/src and ~/bin</p>"),
        ("x^2 + y^2 and a^b c^d", "<p>x^2 + y^2 and a^b c^d</p>"),
        ("if a == b == c", "<p>if a == b == c</p>"),
        ("`H~2~O 2^10^ ==x==`", "<p><code>H~2~O 2^10^ ==x==</code></p>"),
    ],
)
def test_sub_superscript_and_mark_leave_ordinary_text_alone(markdown, expected):
    assert_converts(markdown, expected)


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


def test_a_comment_ends_at_its_closing_line():
    # What follows the line holding "-->" is Markdown again, never swallowed with the comment.
    assert_converts("<!-- note for editors -->\n# Heading\n\ntext", "<h1>Heading</h1><p>text</p>")
    assert_converts("<!--\nmulti-line\n\nnote\n-->\nafter", "<p>after</p>")


def test_a_script_block_ends_at_its_closing_line():
    assert_converts("<script>\nalert(1)\n</script>\n## After", "<h2>After</h2>")


def test_html_block_may_interrupt_a_paragraph():
    assert_converts("Intro\n<div>inside</div>\nmore", "<p>Intro</p><p>inside\nmore</p>")
    assert_converts(
        "Intro:\n<table>\n  <tr><td>a</td></tr>\n</table>",
        "<p>Intro:</p><table><tr><td>a</td></tr></table>",
    )


def test_lines_of_one_html_block_stay_together():
    assert_converts(
        "<table>\n<tr>\n<td>a</td>\n</tr>\n</table>",
        "<table><tr><td>a</td></tr></table>",
    )


def test_html_pre_becomes_a_code_macro_without_its_leading_break():
    assert_converts(
        "<pre>\nif a &lt; b:\n    go()\n</pre>\nafter",
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[if a < b:\n    go()]]>'
        "</ac:plain-text-body></ac:structured-macro><p>after</p>",
    )
    assert "<![CDATA[if a < b:" in convert("<pre>\nif a &lt; b:\n</pre>").body


def test_loose_text_in_an_html_block_is_trimmed():
    # Compared exactly: the canonical comparison would forgive the line breaks.
    assert convert("<div>\nsome text\n</div>").body == "<p>some text</p>"


def test_image_width_and_height_in_pixels_are_kept():
    assert_converts(
        '<img src="https://e.com/x.png" width="400" height="50%" alt="x" style="border:0">',
        '<p><ac:image ac:alt="x" ac:width="400"><ri:url ri:value="https://e.com/x.png"/></ac:image></p>',
    )


def test_a_named_html_anchor_is_a_link_target():
    # The README idiom: <a name="install"></a> above a section, [install](#install) elsewhere.
    assert_converts(
        '<a name="install"></a>\n\n## Installing\n\nSee [the steps](#install).',
        '<p><span><ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">install</ac:parameter>'
        "</ac:structured-macro></span></p><h2>Installing</h2><p>See <ac:link ac:anchor=\"install\">"
        "<ac:plain-text-link-body><![CDATA[the steps]]></ac:plain-text-link-body></ac:link>.</p>",
    )
    # Nobody links to it: no id reaches the page.
    assert convert('<a name="unused" onclick="x">text</a>').body == "<p><span>text</span></p>"

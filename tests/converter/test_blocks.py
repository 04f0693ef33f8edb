"""Headings, paragraphs, inline formatting, links, tables, blockquotes, footnotes, definitions."""

import pytest

from confluence.converter import convert

from .xml import assert_converts


def test_headings_and_paragraphs():
    assert_converts("# One\n\n## Two\n\nA paragraph\nover two lines.", "<h1>One</h1><h2>Two</h2><p>A paragraph\nover two lines.</p>")


def test_setext_headings():
    assert_converts("One\n===\n\nTwo\n---", "<h1>One</h1><h2>Two</h2>")


def test_emphasis_strong_strike_and_inline_code():
    assert_converts(
        "*em* _em_ **strong** __strong__ ~~gone~~ `a < b && c`",
        "<p><em>em</em> <em>em</em> <strong>strong</strong> <strong>strong</strong> <del>gone</del> "
        "<code>a &lt; b &amp;&amp; c</code></p>",
    )


def test_hard_break_and_horizontal_rule():
    assert_converts("line one  \nline two\n\n---\n\nafter", "<p>line one<br/>line two</p><hr/><p>after</p>")


def test_links_autolinks_and_reference_links():
    assert_converts(
        "[site](https://example.com \"Title\") <https://a.example> <me@example.com> [ref][r]\n\n[r]: https://r.example",
        '<p><a href="https://example.com" title="Title">site</a> <a href="https://a.example">https://a.example</a> '
        '<a href="mailto:me@example.com">me@example.com</a> <a href="https://r.example">ref</a></p>',
    )


def test_bare_urls_are_linked_like_on_github():
    assert_converts(
        "see https://e.com/a?b=1. and www.x.org, (https://w.org/Foo_(bar)) `https://code`",
        '<p>see <a href="https://e.com/a?b=1">https://e.com/a?b=1</a>. and <a href="http://www.x.org">www.x.org</a>, '
        '(<a href="https://w.org/Foo_(bar)">https://w.org/Foo_(bar)</a>) <code>https://code</code></p>',
    )


def anchor(name: str) -> str:
    return f'<ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">{name}</ac:parameter></ac:structured-macro>'


def anchor_link(name: str, text: str) -> str:
    return f'<ac:link ac:anchor="{name}"><ac:plain-text-link-body><![CDATA[{text}]]></ac:plain-text-link-body></ac:link>'


def test_link_to_a_heading_points_at_an_anchor_planted_in_it():
    # Confluence's own heading ids differ between Cloud and Data Center; an anchor macro named
    # after GitHub's slug is in the storage format, so the link works wherever the page is shown.
    assert_converts(
        "## Getting Started!\n\nSee [the start](#getting-started).\n\n## Other",
        f"<h2>{anchor('getting-started')}Getting Started!</h2><p>See {anchor_link('getting-started', 'the start')}.</p>"
        "<h2>Other</h2>",
    )


def test_link_to_a_repeated_heading_uses_githubs_numbered_slug():
    assert_converts(
        "# Notes\n\n# Notes\n\n[second](#notes-1)",
        f"<h1>Notes</h1><h1>{anchor('notes-1')}Notes</h1><p>{anchor_link('notes-1', 'second')}</p>",
    )


def test_links_to_headings_with_markup_non_ascii_text_and_encoded_fragments():
    assert_converts(
        "# Über *uns* `v2`\n\n## Déjà vu & co.\n\n[a](#über-uns-v2) [b](#D%C3%A9j%C3%A0-vu--co)",
        f"<h1>{anchor('über-uns-v2')}Über <em>uns</em> <code>v2</code></h1>"
        f"<h2>{anchor('déjà-vu--co')}Déjà vu &amp; co.</h2>"
        f"<p>{anchor_link('über-uns-v2', 'a')} {anchor_link('déjà-vu--co', 'b')}</p>",
    )


def test_link_text_with_markup_keeps_it_in_a_rich_link_body():
    assert_converts(
        "## Setup\n\n[**Go** to `setup`](#setup)",
        f"<h2>{anchor('setup')}Setup</h2><p><ac:link ac:anchor=\"setup\"><ac:link-body><strong>Go</strong> to "
        "<code>setup</code></ac:link-body></ac:link></p>",
    )


def test_explicit_anchor_and_footnotes_are_link_targets():
    assert_converts(
        '<a id="Custom"></a>Here[^n].\n\n[there](#custom)\n\n[^n]: Note.',
        f"<p><span>{anchor('custom')}</span>Here<sup>{anchor('fnref-n')}{anchor_link('fn-n', '1')}</sup>.</p>"
        f"<p>{anchor_link('custom', 'there')}</p><hr/><ol><li><p>{anchor('fn-n')}Note.\u00a0"
        f"{anchor_link('fnref-n', '↩')}</p></li></ol>",
    )


def attachment_link(name: str, text: str) -> str:
    return (f'<ac:link><ri:attachment ri:filename="{name}"/><ac:plain-text-link-body><![CDATA[{text}]]>'
            "</ac:plain-text-link-body></ac:link>")


def test_links_to_files_in_the_bundle_are_attachment_links():
    converted = convert("[report](files/report.pdf) [again](./files/report.pdf#page=2) [q](data/a%20b.csv?raw=1)")
    assert converted.attachments == ["files/report.pdf", "./files/report.pdf", "data/a b.csv"]
    assert_converts(
        "[report](files/report.pdf) [q](data/a%20b.csv?raw=1)",
        f"<p>{attachment_link('report.pdf', 'report')} {attachment_link('a b.csv', 'q')}</p>",
    )


@pytest.mark.parametrize(
    "href", ["guide.md", "other.md#x", "docs/", "https://e.com/a.pdf", "/x.pdf", ".env", "page.html", "v1.2/"]
)
def test_links_to_pages_folders_and_sites_are_not_attachments(href):
    converted = convert(f"[x]({href})")
    assert converted.attachments == []
    assert "ri:attachment" not in converted.body


def test_link_to_an_unknown_anchor_stays_a_plain_link():
    assert_converts("[x](#nowhere)", '<p><a href="#nowhere">x</a></p>')


def test_table_with_alignment_and_header_cells():
    assert_converts(
        "| left | centre | right |\n|:-----|:------:|------:|\n| a | **b** | c |",
        '<table><thead><tr><th style="text-align: left;">left</th><th style="text-align: center;">centre</th>'
        '<th style="text-align: right;">right</th></tr></thead><tbody><tr><td style="text-align: left;">a</td>'
        '<td style="text-align: center;"><strong>b</strong></td><td style="text-align: right;">c</td></tr></tbody></table>',
    )


def test_blockquote():
    assert_converts("> quoted\n> text\n>\n> > nested", "<blockquote><p>quoted\ntext</p><blockquote><p>nested</p></blockquote></blockquote>")


BACK = "\u21a9"


def test_footnotes_link_both_ways_through_anchors():
    assert_converts(
        "Claim[^1].\n\n[^1]: Source.",
        f"<p>Claim<sup>{anchor('fnref-1')}{anchor_link('fn-1', '1')}</sup>.</p><hr/>"
        f"<ol><li><p>{anchor('fn-1')}Source.\u00a0{anchor_link('fnref-1', BACK)}</p></li></ol>",
    )


def test_definition_list():
    assert_converts("Term\n: Meaning", "<dl><dt>Term</dt><dd>Meaning</dd></dl>")


def test_entities_become_characters():
    # &nbsp; is not defined in XML; the character itself is.
    assert_converts("a&nbsp;b &copy; &#169; &amp; &unknown;", "<p>a\u00a0b \u00a9 \u00a9 &amp; &amp;unknown;</p>")


def test_backslash_escapes():
    assert_converts(r"\*not em\* \<tag\>", "<p>*not em* &lt;tag&gt;</p>")


def test_empty_input_gives_empty_body():
    assert_converts("", "")
    assert_converts("   \n\n  ", "")


def test_backslash_at_the_end_of_a_line_is_a_hard_break():
    assert_converts("one\\\ntwo", "<p>one<br/>two</p>")
    # An escaped backslash before the line end is a backslash, not a break.
    assert_converts("one\\\\\ntwo", "<p>one\\\ntwo</p>")


def test_bare_email_addresses_are_linked_like_on_github():
    assert_converts(
        "Write to ops.team+ci@example.co.uk. Not user@localhost, `a@b.com` or x@y.z_",
        '<p>Write to <a href="mailto:ops.team+ci@example.co.uk">ops.team+ci@example.co.uk</a>. '
        "Not user@localhost, <code>a@b.com</code> or x@y.z_</p>",
    )


def test_atx_headings_as_github_reads_them():
    assert_converts("## Title ##   \n\n# C#\n\n### ###", "<h2>Title</h2><h1>C#</h1><h3></h3>")
    assert_converts("#hashtag\n\n#include <x>", "<p>#hashtag</p><p>#include &lt;x&gt;</p>")
    assert_converts("   ## Indented", "<h2>Indented</h2>")


def test_a_table_may_follow_a_paragraph_line_directly():
    assert_converts(
        "Results:\n| a | b |\n|---|---|\n| 1 | 2 |",
        "<p>Results:</p><table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr>"
        "</tbody></table>",
    )
    # With fewer delimiter cells than header cells it is no table, on GitHub as here.
    assert_converts("Text\n| a | b |\n|---|", "<p>Text\n| a | b |\n|---|</p>")


def test_strikethrough_with_one_or_two_tildes():
    assert_converts("~one~ ~~two~~ a~~b~~c", "<p><del>one</del> <del>two</del> a<del>b</del>c</p>")
    # One tilde on each side inside a word is a subscript (H~2~O), as in Pandoc and pymdownx.
    assert_converts("a~b~c", "<p>a<sub>b</sub>c</p>")
    # Tildes next to spaces are text: home directories are not struck through.
    assert_converts("cd ~/src and ~/bin, ~a~~", "<p>cd ~/src and ~/bin, ~a~~</p>")


def test_a_setext_underline_makes_a_heading_of_the_whole_paragraph_above_it():
    assert_converts("Line one\nline two\n===\n\nText\n---\nmore", "<h1>Line one\nline two</h1><h2>Text</h2><p>more</p>")


def test_a_rule_right_after_a_list_or_quote_is_a_rule_not_a_heading():
    # Python-Markdown alone made "- item" and "> quote" the heading's text.
    assert_converts("- item\n---", "<ul><li>item</li></ul><hr/>")
    assert_converts("> quote\n---", "<blockquote><p>quote</p></blockquote><hr/>")
    assert_converts("a\n***\nb\n---", "<p>a</p><hr/><h2>b</h2>")

"""Constructs that become Confluence macros or elements: panels, images, TOC, expand, title."""

import pytest

from confluence.converter import convert

from .xml import assert_converts


def panel(name: str, body: str, title: str | None = None) -> str:
    parameter = f'<ac:parameter ac:name="title">{title}</ac:parameter>' if title else ""
    return f'<ac:structured-macro ac:name="{name}">{parameter}<ac:rich-text-body>{body}</ac:rich-text-body></ac:structured-macro>'


@pytest.mark.parametrize(
    ("alert", "macro"),
    [("NOTE", "info"), ("TIP", "tip"), ("IMPORTANT", "note"), ("WARNING", "note"), ("CAUTION", "warning")],
)
def test_github_alerts_become_panels(alert, macro):
    assert_converts(f"> [!{alert}]\n> Mind **this**.", panel(macro, "<p>Mind <strong>this</strong>.</p>"))


def test_alert_after_a_plain_quote_is_its_own_panel():
    assert_converts("> plain\n\n> [!TIP]\n> Hint.", "<blockquote><p>plain</p></blockquote>" + panel("tip", "<p>Hint.</p>"))


def test_alert_marker_must_be_on_its_own_line():
    assert_converts("> [!NOTE] inline", "<blockquote><p>[!NOTE] inline</p></blockquote>")


@pytest.mark.parametrize(
    ("kind", "macro"),
    [("note", "info"), ("info", "info"), ("tip", "tip"), ("important", "note"), ("warning", "note"),
     ("caution", "warning"), ("danger", "warning"), ("error", "warning"), ("success", "tip"), ("unknown", "info")],
)
def test_admonitions_become_panels_like_alerts(kind, macro):
    assert_converts(f"!!! {kind}\n    Body with *em*.", panel(macro, "<p>Body with <em>em</em>.</p>"))


def test_admonition_titles():
    assert_converts('!!! danger "Do not"\n    Body.', panel("warning", "<p>Body.</p>", "Do not"))
    assert_converts('!!! tip ""\n    Body.', panel("tip", "<p>Body.</p>"))
    assert_converts('!!! note "Note"\n    Body.', panel("info", "<p>Body.</p>"))


def test_nested_admonitions_and_alert_content_keep_inline_markup():
    assert_converts(
        '!!! note "Outer"\n    Text `code`.\n\n    !!! warning "Inner"\n        **Strong** [link](https://e.com).',
        panel("info", "<p>Text <code>code</code>.</p>" + panel(
            "note", '<p><strong>Strong</strong> <a href="https://e.com">link</a>.</p>', "Inner"), "Outer"),
    )
    assert_converts(
        "> [!CAUTION]\n> Do *not* run `rm -rf`.\n> - one\n>   - two",
        panel("warning", "<p>Do <em>not</em> run <code>rm -rf</code>.</p><ul><li>one<ul><li>two</li></ul></li></ul>"),
    )


def expand(title: str, body: str) -> str:
    return (f'<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">{title}</ac:parameter>'
            f"<ac:rich-text-body>{body}</ac:rich-text-body></ac:structured-macro>")


def test_collapsible_admonition_is_an_expand_around_the_panel():
    assert_converts('??? danger "Risky step"\n    Body.', expand("Risky step", panel("warning", "<p>Body.</p>")))
    assert_converts("??? tip\n    Body.", expand("Tip", panel("tip", "<p>Body.</p>")))


def test_collapsible_admonition_open_by_default_is_the_titled_panel():
    # Confluence's expand macro cannot start open, so an open one is shown as the panel itself.
    assert_converts('???+ note "Shown"\n    Body.', panel("info", "<p>Body.</p>", "Shown"))


def test_panel_with_title_and_colours():
    converted = convert('!!! panel "Checklist" bgColor=#DEEBFF borderColor=navy borderStyle=dashed\n    Body.')
    assert converted.body == (
        '<ac:structured-macro ac:name="panel"><ac:parameter ac:name="title">Checklist</ac:parameter>'
        '<ac:parameter ac:name="bgColor">#DEEBFF</ac:parameter><ac:parameter ac:name="borderColor">navy</ac:parameter>'
        '<ac:parameter ac:name="borderStyle">dashed</ac:parameter><ac:rich-text-body><p>Body.</p></ac:rich-text-body>'
        "</ac:structured-macro>"
    )
    assert converted.warnings == []


def test_panel_option_not_understood_is_dropped_with_a_warning():
    converted = convert('!!! panel "T" bgcolor=#fff onclick=x borderWidth=huge\n    Body.')
    assert_converts('!!! panel "T" bgcolor=#fff onclick=x borderWidth=huge\n    Body.',
                    '<ac:structured-macro ac:name="panel"><ac:parameter ac:name="title">T</ac:parameter>'
                    '<ac:parameter ac:name="bgColor">#fff</ac:parameter><ac:rich-text-body><p>Body.</p>'
                    "</ac:rich-text-body></ac:structured-macro>")
    assert converted.warnings == [
        "panel option 'onclick=x' ignored: see docs/converter.md for the options",
        "panel option 'borderWidth=huge' ignored: see docs/converter.md for the options",
    ]


def test_noformat_fence():
    assert_converts(
        "```noformat\nkeep   *as* <is>\n```",
        '<ac:structured-macro ac:name="noformat"><ac:plain-text-body><![CDATA[keep   *as* <is>]]>'
        "</ac:plain-text-body></ac:structured-macro>",
    )


def status(colour: str, title: str, subtle: bool = False) -> str:
    extra = '<ac:parameter ac:name="subtle">true</ac:parameter>' if subtle else ""
    return (f'<ac:structured-macro ac:name="status"><ac:parameter ac:name="colour">{colour}</ac:parameter>'
            f'<ac:parameter ac:name="title">{title}</ac:parameter>{extra}</ac:structured-macro>')


def test_status_lozenges():
    assert_converts(
        "Build {status:green|Passed}, deploy {status:colour=Red|title=Down|subtle=true}, {status:Blue}.",
        f"<p>Build {status('Green', 'Passed')}, deploy {status('Red', 'Down', True)}, {status('Blue', 'Blue')}.</p>",
    )
    assert_converts("{status:yellow|In review|subtle}", f"<p>{status('Yellow', 'In review', True)}</p>")


def test_status_in_a_table_cell_uses_an_escaped_pipe():
    assert_converts(
        "| job | state |\n|---|---|\n| nightly | {status:green\\|OK} |",
        f"<table><thead><tr><th>job</th><th>state</th></tr></thead><tbody><tr><td>nightly</td>"
        f"<td>{status('Green', 'OK')}</td></tr></tbody></table>",
    )


def test_status_with_unknown_colour_or_in_code_stays_text():
    converted = convert("{status:pink|x} and `{status:red|y}`")
    assert converted.body == "<p>{status:pink|x} and <code>{status:red|y}</code></p>"
    assert converted.warnings == [
        "status '{status:pink|x}' kept as text: its colour must be one of Blue, Green, Grey, Purple, Red, Yellow"
    ]


@pytest.mark.parametrize("marker", ["[CHILDREN]", "[[_CHILDREN_]]", "[[_TOSP_]]", "[children]"])
def test_children_marker(marker):
    assert_converts(f"{marker}\n\n# A", '<ac:structured-macro ac:name="children"/><h1>A</h1>')


def test_absolute_image_is_a_url_image():
    converted = convert('![Logo](https://example.com/logo.png "The logo")')
    assert converted.attachments == []
    assert_converts(
        '![Logo](https://example.com/logo.png "The logo")',
        '<p><ac:image ac:alt="Logo" ac:title="The logo"><ri:url ri:value="https://example.com/logo.png"/></ac:image></p>',
    )


def test_relative_image_is_an_attachment_and_listed():
    converted = convert("![a](img/a%20b.png) ![again](img/a%20b.png) ![c](./c.gif?raw=1)")
    assert converted.attachments == ["img/a b.png", "./c.gif"]
    assert_converts(
        "![a](img/a%20b.png)",
        '<p><ac:image ac:alt="a"><ri:attachment ri:filename="a b.png"/></ac:image></p>',
    )


def test_unsafe_image_source_keeps_only_the_alt_text():
    assert_converts("![alt](javascript:alert(1))", "<p><span>alt</span></p>")


@pytest.mark.parametrize("marker", ["[TOC]", "[[_TOC_]]"])
def test_toc_marker(marker):
    assert_converts(f"{marker}\n\n# A", '<ac:structured-macro ac:name="toc"/><h1>A</h1>')


def test_toc_in_a_sentence_is_text():
    assert_converts("see [TOC] here", "<p>see [TOC] here</p>")


def test_details_become_expand_with_markdown_inside():
    assert_converts(
        "<details>\n<summary>More <b>info</b></summary>\n\nHidden *text*.\n\n</details>\n\nAfter.",
        '<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">More info</ac:parameter>'
        "<ac:rich-text-body><p>Hidden <em>text</em>.</p></ac:rich-text-body></ac:structured-macro><p>After.</p>",
    )


def test_details_on_one_line():
    assert_converts(
        "<details><summary>T</summary>body</details>",
        '<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">T</ac:parameter>'
        "<ac:rich-text-body>body</ac:rich-text-body></ac:structured-macro>",
    )


def test_nested_details():
    inner = '<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">In</ac:parameter><ac:rich-text-body><p>x</p></ac:rich-text-body></ac:structured-macro>'
    assert_converts(
        "<details><summary>Out</summary>\n\n<details><summary>In</summary>\n\nx\n\n</details>\n\n</details>",
        f'<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">Out</ac:parameter><ac:rich-text-body>{inner}</ac:rich-text-body></ac:structured-macro>',
    )


def test_first_heading_equal_to_the_title_is_dropped():
    assert_converts("# Guide\n\nText", "<p>Text</p>", title="Guide")
    assert_converts("# Guide\n\nText", "<h1>Guide</h1><p>Text</p>", title="Guide", keep_title=True)
    assert_converts("# Other\n\n# Guide", "<h1>Other</h1><h1>Guide</h1>", title="Guide")


def test_title_heading_is_matched_without_regard_to_case_spacing_or_markup():
    assert_converts("# Release  `notes`\n\nText", "<p>Text</p>", title="Release Notes")


def test_front_matter_title_drives_the_dedupe():
    assert_converts("---\ntitle: Guide\n---\n# Guide\n\nText", "<p>Text</p>")


def test_title_argument_wins_over_front_matter():
    assert_converts("---\ntitle: Guide\n---\n# Guide", "<h1>Guide</h1>", title="Other")


def test_admonitions_in_list_items():
    # MkDocs writes them four spaces under the item, whatever its marker's width.
    assert_converts(
        '1. Step one\n\n    !!! warning "Careful"\n        Body **b**.\n\n        More.\n\n2. Step two\n\n    ??? tip\n        Hidden.',
        "<ol><li><p>Step one</p>" + panel("note", "<p>Body <strong>b</strong>.</p><p>More.</p>", "Careful")
        + "</li><li><p>Step two</p>" + expand("Tip", panel("tip", "<p>Hidden.</p>")) + "</li></ol>",
    )
    # Outside a list an indented marker stays text, as before.
    assert_converts("  !!! note\n    x", "<p>!!! note\n    x</p>")

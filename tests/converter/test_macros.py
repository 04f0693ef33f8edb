"""Constructs that become Confluence macros or elements: panels, images, TOC, expand, title."""

import pytest

from confluence.converter import convert

from .xml import assert_converts


def panel(name: str, body: str, title: str | None = None) -> str:
    parameter = f'<ac:parameter ac:name="title">{title}</ac:parameter>' if title else ""
    return f'<ac:structured-macro ac:name="{name}">{parameter}<ac:rich-text-body>{body}</ac:rich-text-body></ac:structured-macro>'


@pytest.mark.parametrize(
    ("alert", "macro"),
    [("NOTE", "info"), ("TIP", "tip"), ("IMPORTANT", "note"), ("WARNING", "warning"), ("CAUTION", "warning")],
)
def test_github_alerts_become_panels(alert, macro):
    assert_converts(f"> [!{alert}]\n> Mind **this**.", panel(macro, "<p>Mind <strong>this</strong>.</p>"))


def test_alert_after_a_plain_quote_is_its_own_panel():
    assert_converts("> plain\n\n> [!TIP]\n> Hint.", "<blockquote><p>plain</p></blockquote>" + panel("tip", "<p>Hint.</p>"))


def test_alert_marker_must_be_on_its_own_line():
    assert_converts("> [!NOTE] inline", "<blockquote><p>[!NOTE] inline</p></blockquote>")


def test_admonitions_become_panels():
    assert_converts("!!! note\n    Body.", panel("info", "<p>Body.</p>"))
    assert_converts('!!! danger "Do not"\n    Body.', panel("warning", "<p>Body.</p>", "Do not"))
    assert_converts("!!! tip\n    Body.", panel("tip", "<p>Body.</p>"))


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

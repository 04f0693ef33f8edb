"""Lists nest the way GitHub nests them, whatever the indentation width; task lists become
Confluence tasks only when every item is a task."""

import pytest

from .xml import assert_converts

NESTED = "<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li><li>d</li></ul>"


@pytest.mark.parametrize(
    "markdown",
    [
        "- a\n  - b\n    - c\n- d",  # 2 spaces, GitHub's usual
        "- a\n    - b\n        - c\n- d",  # 4 spaces, Python-Markdown's usual
        "* a\n   * b\n      * c\n* d",  # 3 spaces
    ],
    ids=["two", "four", "three"],
)
def test_nested_bullets_at_any_indentation(markdown):
    assert_converts(markdown, NESTED)


def test_ordered_inside_bullets_at_content_column():
    assert_converts("- a\n  1. one\n  2. two\n- b", "<ul><li>a<ol><li>one</li><li>two</li></ol></li><li>b</li></ul>")


def test_bullets_inside_ordered_item_at_three_spaces():
    assert_converts("1. a\n   - x\n2. b", "<ol><li>a<ul><li>x</li></ul></li><li>b</li></ol>")


def test_one_space_is_a_sibling_not_a_child():
    assert_converts("- a\n - b", "<ul><li>a</li><li>b</li></ul>")


def test_ordered_list_keeps_its_start_number():
    assert_converts("3. three\n4. four", '<ol start="3"><li>three</li><li>four</li></ol>')


def test_parenthesis_markers():
    assert_converts("1) one\n2) two", "<ol><li>one</li><li>two</li></ol>")


def test_list_may_interrupt_a_paragraph():
    assert_converts("Items:\n- a\n- b", "<p>Items:</p><ul><li>a</li><li>b</li></ul>")


def test_loose_list_item_with_two_paragraphs():
    assert_converts("- a\n\n  more\n- b", "<ul><li><p>a</p><p>more</p></li><li><p>b</p></li></ul>")


def test_indented_code_inside_list_item():
    assert_converts(
        "- a\n\n      code\n",
        '<ul><li>a<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[code]]>'
        "</ac:plain-text-body></ac:structured-macro></li></ul>",
    )


def test_thematic_break_is_not_a_list_item():
    assert_converts("- a\n\n* * *\n\nafter", "<ul><li>a</li></ul><hr/><p>after</p>")


def test_task_list():
    assert_converts(
        "- [ ] write\n- [x] review **well**",
        "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>incomplete</ac:task-status>"
        "<ac:task-body>write</ac:task-body></ac:task><ac:task><ac:task-id>2</ac:task-id>"
        "<ac:task-status>complete</ac:task-status><ac:task-body>review <strong>well</strong></ac:task-body>"
        "</ac:task></ac:task-list>",
    )


def test_task_ids_are_unique_on_the_page():
    # Nested lists and separate lists never share an id (Confluence tracks tasks by it).
    assert_converts(
        "- [ ] parent\n  - [X] child\n\ntext\n\n- [ ] other",
        "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>incomplete</ac:task-status>"
        "<ac:task-body>parent<ac:task-list><ac:task><ac:task-id>2</ac:task-id><ac:task-status>complete"
        "</ac:task-status><ac:task-body>child</ac:task-body></ac:task></ac:task-list></ac:task-body></ac:task>"
        "</ac:task-list><p>text</p><ac:task-list><ac:task><ac:task-id>3</ac:task-id><ac:task-status>incomplete"
        "</ac:task-status><ac:task-body>other</ac:task-body></ac:task></ac:task-list>",
    )


def test_list_mixing_tasks_and_plain_items_stays_a_plain_list():
    assert_converts("- [ ] task\n- plain", "<ul><li>[ ] task</li><li>plain</li></ul>")


def test_ordered_task_items_stay_an_ordered_list():
    assert_converts("1. [ ] a", "<ol><li>[ ] a</li></ol>")


def test_a_blank_line_between_any_two_items_makes_every_item_a_paragraph():
    # CommonMark's loose list: Python-Markdown alone would wrap only the items after the blank.
    assert_converts("- a\n- b\n\n- c", "<ul><li><p>a</p></li><li><p>b</p></li><li><p>c</p></li></ul>")
    assert_converts("1. a\n2. b\n\n   more", "<ol><li><p>a</p></li><li><p>b</p><p>more</p></li></ol>")


def test_a_loose_outer_list_leaves_its_tight_inner_list_alone():
    assert_converts("- a\n  - b\n\n- c", "<ul><li><p>a</p><ul><li>b</li></ul></li><li><p>c</p></li></ul>")


def test_empty_items_are_items():
    # Not a heading underline: "- a" over "-" is a list of three, the middle one empty.
    assert_converts("- a\n-\n- c", "<ul><li>a</li><li></li><li>c</li></ul>")


def test_an_empty_item_cannot_interrupt_a_paragraph():
    assert_converts("Title\n-", "<h2>Title</h2>")


def test_lists_in_quotes_and_alerts_nest_like_anywhere_else():
    assert_converts(
        "> Steps:\n> - a\n>   - b",
        "<blockquote><p>Steps:</p><ul><li>a<ul><li>b</li></ul></li></ul></blockquote>",
    )
    assert_converts(
        "> [!TIP]\n> - a\n>   - b\n> - c",
        '<ac:structured-macro ac:name="tip"><ac:rich-text-body><ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>'
        "</ac:rich-text-body></ac:structured-macro>",
    )


def test_lists_in_admonitions_nest_like_anywhere_else():
    assert_converts(
        "!!! note\n    Before:\n    - a\n      - b\n    - c",
        '<ac:structured-macro ac:name="info"><ac:rich-text-body><p>Before:</p><ul><li>a<ul><li>b</li></ul></li>'
        "<li>c</li></ul></ac:rich-text-body></ac:structured-macro>",
    )

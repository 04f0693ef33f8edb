"""Front matter is metadata for the import, not page content."""

import pytest

from confluence.converter import Converted, convert

from .xml import assert_converts


def test_front_matter_is_parsed_and_removed():
    converted = convert('---\ntitle: "A: title"\nlabels: [one, "two, three"]\nparent: Home # comment\n---\nBody')
    assert converted == Converted(
        body="<p>Body</p>",
        title="A: title",
        labels=["one", "two, three"],
        metadata={"title": "A: title", "labels": ["one", "two, three"], "parent": "Home"},
        attachments=[],
        parent="Home",
    )


def test_block_list_labels():
    converted = convert("---\nlabels:\n  - alpha\n  - beta\n- gamma\n---\n")
    assert converted.labels == ["alpha", "beta", "gamma"]
    assert converted.body == ""


def test_comma_separated_labels_and_duplicates():
    assert convert("---\nlabels: a, b, a\n---\n").labels == ["a", "b"]


def test_no_front_matter():
    converted = convert("# Title\n\ntext")
    assert (converted.title, converted.labels, converted.metadata) == (None, [], {})


def test_unclosed_front_matter_is_content():
    assert_converts("---\ntitle: x\n\ntext", "<hr/><p>title: x</p><p>text</p>")


def test_lines_outside_the_subset_are_ignored():
    converted = convert("---\ntitle: T\n  nested: mapping\n!!weird\n---\n")
    assert converted.metadata == {"title": "T"}


def test_front_matter_must_start_the_document():
    assert convert("\n---\ntitle: x\n---\n").title is None


def test_converted_is_frozen():
    converted = convert("x")
    try:
        converted.body = "y"  # type: ignore[misc]
    except AttributeError:
        return
    raise AssertionError("Converted must be immutable")


def test_a_byte_order_mark_is_ignored():
    converted = convert("\ufeff---\ntitle: T\n---\n# Heading")
    assert (converted.title, converted.body) == ("T", "<h1>Heading</h1>")
    assert convert("\ufeff# Heading").body == "<h1>Heading</h1>"


def test_keys_peers_honour():
    converted = convert(
        "---\ntitle: Runbook\ntags: [ops, oncall]\nlabels: runbook, ops\nlayout: wide\nparent: Operations\n"
        'weight: 20\nproperties:\n  owner: team-sre\n  review-by: "2027-01-01"\n---\nText'
    )
    assert (converted.title, converted.labels) == ("Runbook", ["runbook", "ops", "oncall"])
    assert converted.properties == {"owner": "team-sre", "review-by": "2027-01-01"}
    assert (converted.appearance, converted.parent, converted.weight) == ("full-width", "Operations", 20)
    assert converted.warnings == []


@pytest.mark.parametrize(
    ("line", "appearance"),
    [("layout: full-width", "full-width"), ("width: wide", "full-width"), ("width: max", "full-width"),
     ("layout: fixed-width", "fixed-width"), ("width: default", "fixed-width"), ("layout: post", None), ("", None)],
)
def test_page_width(line, appearance):
    assert convert(f"---\n{line}\n---\nx").appearance == appearance


def test_flow_mapping_properties():
    assert convert('---\nproperties: {a: 1, "b": "x, y"}\n---\n').properties == {"a": "1", "b": "x, y"}


def test_values_not_understood_are_warned_about_and_left_out():
    converted = convert("---\nwidth: huge\nweight: first\nproperties: owner\nlayout: post\n---\nx")
    assert (converted.appearance, converted.weight, converted.properties) == (None, None, {})
    assert converted.warnings == [
        "front matter: properties must be indented 'key: value' lines under 'properties:'",
        "front matter: width 'huge' is not a page width; use full-width or fixed-width",
        "front matter: weight 'first' is not a whole number",
    ]

"""Front matter is metadata for the import, not page content."""

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

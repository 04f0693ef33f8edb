"""The speed shortcuts around Python-Markdown change no output: each one only skips work whose
result is known in advance (a block processor or inline pattern that cannot match, an unescape
with nothing to unescape). Converting with every shortcut switched off gives the same result."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown.treeprocessors import InlineProcessor, UnescapeTreeprocessor

from bench.converter import build_document
from confluence.converter import _inline, _pipeline, convert

from .test_safety import PIECES, markdown_like

# Inline constructs nested in and next to each other: where Python-Markdown's inline walk
# resolves placeholders in texts and tails of nodes inside other nodes.
INLINE_PIECES = [
    "*", "**", "***", "_", "__", "`", "``", "~~", "[", "]", "(", ")", "![", "](", "[^1]", "[r]", "[r][]",
    "<sub>", "</sub>", "<br>", "<span>", "</span>", "<!--", "-->", "<https://e.com/x>", "<a@b.c>",
    "https://e.com/a_(b)", "www.e.com", "&amp;", "&copy;", "&#65;", "\\", "\\*", "\\[", "  \n", "\n",
    " ", "word", "x", "\"t\"", "- ", "> ", "# ", "| a | b |\n|---|---|\n| ", "\n\n[^1]: note *n*",
    "\n\n[r]: /url", "\n\n", "///Footnotes Go Here///",
]
inline_like = st.lists(st.sampled_from(INLINE_PIECES), max_size=30).map("".join)
# Line starts of every kind of block, and characters near the edges of the processors' tests
# (Unicode digits and spaces, which \d and \s accept).
BLOCK_PIECES = [
    "\n", "\n\n", "\n\n    ", "\n  ", "- ", "+ ", "* ", "1. ", "2) ", "\u0663. ", "\u2003", "\u00a0", "    ",
    "!!! note\n    ", "!!! tip \"T\"\n", "> ", "# ", "===", "---", "***", "___", "_ _ _", "*  * *", "Term\n: def", "[TOC]", "[^1]: ",
    "[r]: /u", "| a |\n|---|\n", "<div>", "<details>\n", "</details>", "```\n", "~~~", "text", "x",
]
block_like = st.lists(st.sampled_from(BLOCK_PIECES + INLINE_PIECES[:20]), max_size=40).map("".join)


@pytest.fixture
def without_shortcuts(monkeypatch):
    def plain(markdown: str):
        with monkeypatch.context() as patch:
            patch.setattr(_pipeline, "_add_block_prechecks", lambda blockprocessors: None)
            patch.setattr(_pipeline, "_add_tree_shortcuts", lambda footnotes: None)
            patch.setattr(_pipeline, "_BLOCK_STARTS", {})  # every processor offered every block
            patch.setattr(_pipeline, "_BLOCK_NEEDLES", {})
            # Python-Markdown's own inline tree walk, every pattern on every text.
            patch.setattr(_inline.TriggeredInlineProcessor, "run", InlineProcessor.run)
            patch.setattr(_pipeline._UnescapeProcessor, "run", UnescapeTreeprocessor.run)
            return convert(markdown)

    return plain


def test_realistic_document_is_unchanged(without_shortcuts):
    document = build_document(30_000)
    assert convert(document) == without_shortcuts(document)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(markdown_like)
def test_markdown_like_text_is_unchanged(without_shortcuts, markdown):
    assert convert(markdown) == without_shortcuts(markdown)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(inline_like)
def test_inline_markdown_is_unchanged(without_shortcuts, markdown):
    assert convert(markdown) == without_shortcuts(markdown)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(block_like)
def test_block_markdown_is_unchanged(without_shortcuts, markdown):
    assert convert(markdown) == without_shortcuts(markdown)


def test_seeded_random_documents_are_unchanged(without_shortcuts):
    # A fixed sample, larger than hypothesis runs each time: the same documents on every run.
    generator = random.Random(1234)
    for _ in range(2000):
        pieces = generator.choice((INLINE_PIECES, BLOCK_PIECES, BLOCK_PIECES + INLINE_PIECES, PIECES))
        markdown = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 80)))
        assert convert(markdown) == without_shortcuts(markdown), markdown


# Emphasis runs and what sits next to them: the emphasis shortcut's cases (a lone pair of one or two
# characters) and every neighbour that must send it back to Python-Markdown's general pairing.
EMPHASIS_PIECES = [
    "*", "**", "***", "****", "_", "__", "___", "a", "b c", " ", "\n", "snake_case", "x_", "_x", "2*3", "`*`",
    "\\*", "[l](u)", "*a*", "**b**", "_c_", "__d__", "| t |\n|---|\n| ", ".", "(", ")",
]
emphasis_like = st.lists(st.sampled_from(EMPHASIS_PIECES), max_size=24).map("".join)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(emphasis_like)
def test_emphasis_is_unchanged(without_shortcuts, markdown):
    assert convert(markdown) == without_shortcuts(markdown)


@pytest.mark.parametrize(
    ("markdown", "shortcut_taken"),
    [
        ("a **bold** and _italic_ and *em*", True),
        ("**bold *nested* bold**", False),  # nesting: the general pairing
        ("***both***", False),  # a three-character run
        ("*open only", False),
        ("*a**", False),  # a closing run of another length
    ],
)
def test_emphasis_shortcut_is_taken_for_lone_pairs_only(monkeypatch, without_shortcuts, markdown, shortcut_taken):
    general_calls = []
    original = _inline.inlinepatterns.DelimiterProcessor.handleMatch

    def counted(self, m, data):
        general_calls.append(m.start(0))
        return original(self, m, data)

    monkeypatch.setattr(_inline.inlinepatterns.DelimiterProcessor, "handleMatch", counted)
    converted = convert(markdown)
    assert (not general_calls) is shortcut_taken
    general_calls.clear()
    assert converted == without_shortcuts(markdown)

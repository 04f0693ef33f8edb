"""The speed shortcuts around Python-Markdown change no output: each one only skips work whose
result is known in advance (a block processor or inline pattern that cannot match, an unescape
with nothing to unescape). Converting with every shortcut switched off gives the same result."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from markdown.treeprocessors import UnescapeTreeprocessor
from markdown.util import AtomicString

from bench.converter import build_document
from confluence.converter import _pipeline, convert

from .test_safety import markdown_like


@pytest.fixture
def without_shortcuts(monkeypatch):
    def plain(markdown: str):
        with monkeypatch.context() as patch:
            patch.setattr(_pipeline, "_add_block_prechecks", lambda blockprocessors: None)
            patch.setattr(_pipeline, "_ANY_TRIGGER", re.compile(""))  # matches every text
            patch.setattr(_pipeline._TriggeredInlineProcessor, "_InlineProcessor__handleInline", _all_patterns)
            patch.setattr(_pipeline._UnescapeProcessor, "run", UnescapeTreeprocessor.run)
            return convert(markdown)

    return plain


def _all_patterns(self, data, patternIndex=0):  # noqa: N803
    """Python-Markdown's own loop: every pattern on every text, no trigger test."""
    if isinstance(data, AtomicString):
        return data
    apply = self._InlineProcessor__applyPattern
    patterns = self._patterns
    start = 0
    while patternIndex < len(patterns):
        data, matched, start = apply(patterns[patternIndex][0], data, patternIndex, start)
        if not matched:
            patternIndex += 1
    return data


def test_realistic_document_is_unchanged(without_shortcuts):
    document = build_document(30_000)
    assert convert(document) == without_shortcuts(document)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(markdown_like)
def test_markdown_like_text_is_unchanged(without_shortcuts, markdown):
    assert convert(markdown) == without_shortcuts(markdown)

"""Inline Markdown: Python-Markdown's inline tree processor and its patterns, driven by a leaner
loop that builds exactly the same tree.

Python-Markdown's ``InlineProcessor`` spends most of its time on bookkeeping rather than on its
patterns: a parent map of the whole tree that only the root's ancestors are read from, a search
for each child's position among its siblings, every pattern tried on every text run. The methods
here do the same steps in the same order (the patterns are stateful: the emphasis processor
caches regions between calls, placeholders and footnotes are numbered in call order), so each
pattern sees the same calls with the same arguments. ``tests/converter/test_shortcuts.py``
compares the result with Python-Markdown's own ``run`` over the same patterns.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from markdown import inlinepatterns, treeprocessors
from markdown.util import ETX, INLINE_PLACEHOLDER_PREFIX, INLINE_PLACEHOLDER_RE, AtomicString

# Characters without which an inline pattern cannot match. Python-Markdown runs every pattern
# over every text run; skipping the ones whose trigger is absent is most of the inline time saved.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "backtick": ("`",),
    "escape": ("\\",),
    "footnote": ("[^",),
    "reference": ("[",),
    "link": ("[",),
    "image_link": ("![",),
    "image_reference": ("![",),
    "short_reference": ("[",),
    "short_image_ref": ("![",),
    "autolink": ("<",),
    "automail": ("<",),
    "linebreak": ("  \n",),
    "backslash_break": ("\\\n",),
    "bare_email": ("@",),
    "safe_html": ("<",),
    "entity": ("&",),
    "strike": ("~",),
    "em_strong": ("*", "_"),
    "bare_url": ("://", "www."),
    "status": ("{status:",),
    "subscript": ("~",),
    "superscript": ("^",),
    "mark": ("==",),
    "math": ("$",),
}

ANY_TRIGGER = re.compile("|".join(re.escape(t) for triggers in TRIGGERS.values() for t in triggers))
# What makes the tree walk hand a text to the patterns: a trigger, or a placeholder to resolve.
# Text holding neither would come back unchanged and be put back where it was.
_WORK = re.compile(f"{ANY_TRIGGER.pattern}|{re.escape(INLINE_PLACEHOLDER_PREFIX)}")

# A stashed node and a copy of the tag names above it, as Python-Markdown's run queues them.
Stashed = tuple[etree.Element, list[str]]
HandleMatch = Callable[[re.Match[str], str], tuple[etree.Element | str | None, int | None, int | None]]


class _Pattern(NamedTuple):
    regex: re.Pattern[str]
    handle_match: HandleMatch
    # ANCESTOR_EXCLUDES, lower-cased once instead of per application.
    excludes: tuple[str, ...]
    # None: no trigger known, always tried.
    triggers: tuple[str, ...] | None


def _append_text(result: list[Stashed], parent: etree.Element, is_text: bool, text: str) -> None:
    """``linkText`` of ``InlineProcessor.__processPlaceholders``: text goes to the tail of the
    last node produced so far, else to the parent's text or tail."""
    if not text:
        return
    if result:
        last = result[-1][0]
        last.tail = last.tail + text if last.tail else text
    elif not is_text:
        parent.tail = parent.tail + text if parent.tail else text
    else:
        parent.text = parent.text + text if parent.text else text


def _handler(pattern: inlinepatterns.InlineProcessor) -> HandleMatch:
    if isinstance(pattern, inlinepatterns.DelimiterProcessor):
        return _lone_pair_first(pattern)
    return pattern.handleMatch  # type: ignore[return-value]


def _lone_pair_first(processor: inlinepatterns.DelimiterProcessor) -> HandleMatch:
    """The emphasis processor's ``handleMatch``, with its commonest case answered without its general pairing
    machinery (a fifth of a plain page's conversion): an opening run of one or two ``*`` (or ``_``) whose next
    delimiter character starts a closing run of the same token and length, as in ``*a*``, ``**a b**``, ``_a_``.

    For that case the general algorithm pairs the two runs as one region and builds one ``em`` (one character) or
    ``strong`` (two) holding the text between them, then clears its state. The runs are told apart by the
    processor's own boundary patterns, and the shortcut is taken only with no state left from an earlier match, so
    anything else (nesting, three-character runs, ambiguous or unmatched runs) goes to ``handleMatch`` as before.
    ``tests/converter/test_shortcuts.py`` checks the result against Python-Markdown's own.
    """
    general = processor.handleMatch
    delimiters = processor.delimiters
    tokens = tuple(delimiters)

    def handle_match(m: re.Match[str], data: str) -> tuple[etree.Element | str | None, int | None, int | None]:
        start = m.start(0)
        delimiter = delimiters.get(data[start])
        if (
            delimiter is None
            or delimiter.double
            or processor.regions
            or processor.stack
            or processor.cache_index
            or any(other.stack for other in delimiters.values())
        ):
            return general(m, data)
        opening = delimiter.boundary.match(data, start)
        if opening is None or opening.lastgroup != "start":
            return general(m, data)
        inner = opening.end()
        size = inner - start
        if size > delimiter.max_size:
            return general(m, data)
        close = -1
        for token in tokens:
            found = data.find(token, inner)
            if found != -1 and (close == -1 or found < close):
                close = found
        if close == -1 or data[close] != data[start]:
            return general(m, data)
        closing = delimiter.boundary.match(data, close)
        if closing is None or closing.lastgroup != "end" or closing.end() - close != size:
            return general(m, data)
        element = etree.Element(delimiter.tags[0] if size == 2 else delimiter.tags[1])
        element.text = data[inner:close]
        return element, start, closing.end()

    return handle_match


class TriggeredInlineProcessor(treeprocessors.InlineProcessor):
    """Python-Markdown's inline tree processor, with a cheap substring test before each pattern
    and the tree walk done without its per-node bookkeeping."""

    def run(self, tree: etree.Element, ancestors: list[str] | None = None) -> etree.Element:
        names = [item.name for item in self.inlinePatterns._priority]
        patterns = list(self.inlinePatterns)
        if not all(isinstance(pattern, inlinepatterns.InlineProcessor) for pattern in patterns):
            # An old-style Pattern takes another code path in Python-Markdown; leave it to it.
            return super().run(tree, ancestors)
        self._patterns = [
            _Pattern(
                pattern.getCompiledRegExp(),
                _handler(pattern),
                tuple(exclude.lower() for exclude in pattern.ANCESTOR_EXCLUDES),
                TRIGGERS.get(name),
            )
            for pattern, name in zip(patterns, names, strict=True)
        ]
        # Text holding no trigger at all (most short runs: cells, items, headings) is returned
        # by one regex search instead of a test per pattern.
        self._no_trigger = ANY_TRIGGER if all(entry.triggers for entry in self._patterns) else None
        # Each trigger once, to tell which patterns a text may hold before trying them in turn.
        self._trigger_strings = sorted({trigger for entry in self._patterns for trigger in entry.triggers or ()})
        self._candidates: dict[tuple[int, tuple[bool, ...]], list[int]] = {}
        self.stashed_nodes: dict[str, etree.Element | str] = {}

        # The root's ancestors are the given ones and the root itself (Python-Markdown reads
        # them off a parent map of the whole tree, in which the root has no parent).
        tree_parents = [] if ancestors is None else ancestors[:]
        tree_parents.append(tree.tag.lower())
        handle_inline = self._handle_inline
        process_placeholders = self._process_placeholders
        # None when some pattern has no known trigger: every text is then handed to them.
        work = _WORK.search if self._no_trigger is not None else None
        # Breadth first, as Python-Markdown's list used as a queue.
        queue: deque[Stashed] = deque([(tree, tree_parents)])
        while queue:
            element, parents = queue.popleft()
            self.ancestors = parents
            if element is not tree:
                parents.append(element.tag.lower())
            filled: list[tuple[etree.Element, list[Stashed]]] = []
            # By index: nodes inserted after a child (from its tail) are visited next, as
            # Python-Markdown's iteration over the element does.
            index = 0
            while index < len(element):
                child = element[index]
                text = child.text
                if text and not isinstance(text, AtomicString) and (work is None or work(text) is not None):
                    parents.append(child.tag.lower())
                    child.text = None
                    nodes = process_placeholders(handle_inline(text), child, True)
                    queue.extend(nodes)
                    filled.append((child, nodes))
                    parents.pop()
                tail = child.tail
                if tail and (work is None or isinstance(tail, AtomicString) or work(tail) is not None):
                    tail = handle_inline(tail)
                    holder = etree.Element("d")
                    child.tail = None
                    nodes = process_placeholders(tail, holder, False)
                    if holder.tail:
                        child.tail = holder.tail
                    if nodes:
                        element[index + 1 : index + 1] = [node for node, _ in nodes]
                if len(child):
                    queue.append((child, parents[:]))
                index += 1
            for child, nodes in filled:
                if nodes:
                    child[0:0] = [node for node, _ in nodes]
        return tree

    def _handle_inline(self, data: str, pattern_index: int = 0) -> str:
        """``InlineProcessor.__handleInline`` and ``__applyPattern``: the patterns from
        ``pattern_index`` on, each applied until it no longer matches, skipping those whose
        trigger is absent from the text still to be searched."""
        if isinstance(data, AtomicString):
            return data
        if self._no_trigger is not None and self._no_trigger.search(data) is None:
            return data
        patterns = self._patterns
        ancestors = self.ancestors
        # The patterns from pattern_index on whose trigger the text holds (or that have none).
        # Replacing a match with a placeholder removes triggers and adds none (a placeholder
        # holds no trigger and separates what was either side of it), so this list stays a
        # superset of the patterns that may still match.
        present = tuple([trigger in data for trigger in self._trigger_strings])
        order = self._candidates.get((pattern_index, present))
        if order is None:
            holds = dict(zip(self._trigger_strings, present, strict=True))
            order = self._candidates[pattern_index, present] = [
                index
                for index in range(pattern_index, len(patterns))
                if patterns[index].triggers is None or any(holds[trigger] for trigger in patterns[index].triggers)
            ]
        position = 0
        start_index = 0
        while position < len(order):
            pattern_index = order[position]
            pattern = patterns[pattern_index]
            triggers = pattern.triggers
            if triggers is not None:
                # A match starts at start_index or later and holds its trigger, so a trigger
                # found before start_index only (or nowhere) means no match. A plain loop: a
                # generator per pattern and text run costs more than the test.
                for trigger in triggers:
                    if data.find(trigger, start_index) != -1:
                        break
                else:
                    position += 1
                    start_index = 0
                    continue
            excluded = False
            for exclude in pattern.excludes:
                if exclude in ancestors:
                    excluded = True
                    break
            found = None
            if not excluded:
                handle_match = pattern.handle_match
                # handleMatch may reject a match; the next one is tried until none is left.
                for found in pattern.regex.finditer(data, start_index):
                    node, start, end = handle_match(found, data)
                    if start is None or end is None:
                        found = None
                        continue
                    break
            if found is None:
                position += 1
                start_index = 0
                continue
            assert start is not None and end is not None
            if node is None:
                # The pattern consumed text without producing a node; it goes on after it.
                start_index = end
                continue
            if not isinstance(node, str) and not isinstance(node.text, AtomicString):
                # The node's own text and its children's are parsed by the patterns after this
                # one; their tails by this one and those after it.
                for child in [node, *node]:
                    if child.text:
                        ancestors.append(child.tag.lower())
                        child.text = self._handle_inline(child.text, pattern_index + 1)
                        ancestors.pop()
                    if child.tail:
                        child.tail = self._handle_inline(child.tail, pattern_index)
            stash = self.stashed_nodes
            key = f"{len(stash):04d}"
            stash[key] = node
            placeholder = INLINE_PLACEHOLDER_PREFIX + key + ETX
            # The next search starts past the placeholder, not at 0 (repeated patterns would
            # be quadratic otherwise).
            data = data[:start] + placeholder + data[end:]
            start_index = start + len(placeholder)
        return data

    def _process_placeholders(self, data: str | None, parent: etree.Element, is_text: bool) -> list[Stashed]:
        """``InlineProcessor.__processPlaceholders``: the text between placeholders goes to the
        parent (or the node before it), the stashed nodes are returned in order, their own
        texts resolved recursively."""
        result: list[Stashed] = []
        if not data:
            return result
        if INLINE_PLACEHOLDER_PREFIX not in data:
            # No node in this text: all of it is the parent's (an AtomicString stays one).
            _append_text(result, parent, is_text, AtomicString(data) if isinstance(data, AtomicString) else data)
            return result
        stash = self.stashed_nodes
        prefix_length = len(INLINE_PLACEHOLDER_PREFIX)
        start = 0
        while True:
            index = data.find(INLINE_PLACEHOLDER_PREFIX, start)
            if index == -1:
                text = data[start:]
                if isinstance(data, AtomicString):
                    text = AtomicString(text)
                _append_text(result, parent, is_text, text)
                return result
            # As Python-Markdown does: the first well-formed placeholder from here on, even
            # if the prefix found is not one.
            placeholder = INLINE_PLACEHOLDER_RE.search(data, index)
            key, end = (placeholder.group(1), placeholder.end()) if placeholder else (None, index + 1)
            if key is None or key not in stash:
                _append_text(result, parent, is_text, data[start : index + prefix_length])
                start = index + prefix_length
                continue
            node = stash[key]
            if index > 0:
                _append_text(result, parent, is_text, data[start:index])
            start = end
            if isinstance(node, str):
                _append_text(result, parent, is_text, node)
                continue
            for child in [node, *node]:
                if child.tail and child.tail.strip():
                    self._process_element_text(node, child, False)
                if child.text and child.text.strip():
                    self._process_element_text(child, child, True)
            result.append((node, self.ancestors[:]))

    def _process_element_text(self, node: etree.Element, subnode: etree.Element, is_text: bool) -> None:
        """``InlineProcessor.__processElementText``: resolve the placeholders in a stashed
        node's text or tail, inserting the nodes they stand for."""
        if is_text:
            text = subnode.text
            subnode.text = None
        else:
            text = subnode.tail
            subnode.tail = None
        nodes = self._process_placeholders(text, subnode, is_text)
        if not nodes:
            return
        position = list(node).index(subnode) + 1 if not is_text and node is not subnode else 0
        node[position:position] = [new for new, _ in nodes]

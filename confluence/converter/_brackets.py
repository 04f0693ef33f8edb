"""Linear-time bracket matching for Python-Markdown's link and image patterns.

Their ``getText`` walks forward from every ``[`` to its partner, so a line of many unclosed
brackets costs quadratic time (a 1 MB line of ``[`` did not finish in 15 minutes). Ours looks a
few brackets ahead, which settles every real link, and otherwise matches all brackets of the
text once and remembers the result while the text stays the same object (Python-Markdown keeps
the same string while a pattern's candidate matches are rejected).
"""

from __future__ import annotations

import re

_BRACKET = re.compile(r"[\[\]]")
_LOOKAHEAD = 64


class BracketMatcher:
    def __init__(self) -> None:
        self._text: str | None = None
        self._partner: dict[int, int] = {}

    def get_text(self, data: str, index: int) -> tuple[str, int, bool]:
        """Same contract as ``LinkInlineProcessor.getText``: the text between the ``[`` just
        before ``index`` and its matching ``]``, the index after that ``]``, and whether found."""
        if data is self._text:
            return self._from_partners(data, index)
        depth = 1
        for seen, match in enumerate(_BRACKET.finditer(data, index)):
            if seen == _LOOKAHEAD:
                break
            depth += 1 if match.group() == "[" else -1
            if depth == 0:
                return data[index : match.start()], match.end(), True
        else:
            return "", len(data), False
        return self._from_partners(data, index)

    def _from_partners(self, data: str, index: int) -> tuple[str, int, bool]:
        close = self._partners(data).get(index - 1)
        if close is None:
            return "", len(data), False
        return data[index:close], close + 1, True

    def _partners(self, data: str) -> dict[int, int]:
        if data is not self._text:
            partner: dict[int, int] = {}
            opened: list[int] = []
            for match in _BRACKET.finditer(data):
                if match.group() == "[":
                    opened.append(match.start())
                elif opened:
                    partner[opened.pop()] = match.start()
            self._text, self._partner = data, partner
        return self._partner

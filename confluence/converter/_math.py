"""Math: ``$…$`` and ``$$…$$`` in text, ``$$`` blocks and ```` ```math ```` fences.

Confluence Cloud has no LaTeX macro of its own; sites install a Marketplace app, and each app names
its macros differently. ``MathMacros`` says which ones to write (what sphinx-confluencebuilder's
``confluence_latex_macro`` setting does); without it, math is shown as LaTeX source in code.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass

from markdown.inlinepatterns import InlineProcessor
from markdown.util import AtomicString, code_escape

from ._macros import code_macro, macro
from ._state import ConversionState


@dataclass(frozen=True)
class MathMacros:
    """The LaTeX macros of the math app installed on the Confluence site. The defaults are those of
    the "LaTeX Math" app; the MathJax app's are ``mathjax-block-macro``, ``mathjax-inline-macro``
    with the parameter ``equation``. ``inline_parameter`` None puts the equation in the inline
    macro's body instead of a parameter."""

    block: str = "mathblock"
    inline: str = "mathinline"
    inline_parameter: str | None = "body"

    @classmethod
    def parse(cls, value: str) -> MathMacros | None:
        """``"mathblock,mathinline,body"`` (block macro, inline macro, optional inline parameter):
        the form the MATH_MACROS setting takes. Empty: no math macros."""
        parts = [part.strip() for part in value.split(",")]
        if not any(parts):
            return None
        if len(parts) not in (2, 3) or not all(_MACRO_NAME.fullmatch(part) for part in parts[:2]):
            raise ValueError(f"expected 'block-macro,inline-macro[,inline-parameter]', got {value!r}")
        parameter = parts[2] if len(parts) == 3 and parts[2] else None
        if parameter is not None and _MACRO_NAME.fullmatch(parameter) is None:
            raise ValueError(f"the inline macro's parameter {parameter!r} is not a parameter name")
        return cls(parts[0], parts[1], parameter)


_MACRO_NAME = re.compile(r"[A-Za-z][\w\-]{0,99}")


def math_block(latex: str, state: ConversionState) -> etree.Element:
    latex = latex.strip()
    if state.math is None:
        return code_macro(latex, "latex")
    return macro(state.math.block, plain_body=latex)[0]


# Pandoc's rule, which keeps prices as text: the opening "$" is followed by a non-space, the closing
# one preceded by a non-space and not followed by a digit ("$5 and $10" holds no math). "$$…$$"
# inside a paragraph is math too. An escaped "\$" opens nothing.
INLINE_MATH_RE = (
    r"(?<![\\$\w])(?:\$\$(?=\S)((?:\\.|[^$\\\n])+?)(?<=[^\s\\])\$\$"
    r"|\$(?=[^\s$])((?:\\.|[^$\\\n])+?)(?<=[^\s\\])\$)(?![$\d])"
)


class InlineMathProcessor(InlineProcessor):
    def __init__(self, pattern: str, state: ConversionState) -> None:
        super().__init__(pattern)
        self.state = state

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element, int, int]:
        latex = m.group(1) if m.group(1) is not None else m.group(2)
        config = self.state.math
        if config is None:
            element = etree.Element("code")
            # Escaped as Python-Markdown escapes code spans: the storage rewrite undoes both alike.
            element.text = AtomicString(code_escape(latex))
        elif config.inline_parameter is None:
            element = macro(config.inline, plain_body=latex)[0]
        else:
            element = macro(config.inline, {config.inline_parameter: latex})[0]
        return element, m.start(), m.end()

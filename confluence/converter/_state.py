"""Per-conversion state shared by the pieces of one pipeline run (never shared between runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._math import MathMacros
    from .diagrams import Diagrams, GeneratedAttachment


@dataclass
class ConversionState:
    # Fenced code bodies, lifted out before Markdown parsing: (language info word, code).
    fences: list[tuple[str, str]] = field(default_factory=list)
    # Titles of <details> blocks, in the order their opening markers were written.
    details_titles: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    # What the author should know about the conversion (an option ignored, a diagram not rendered).
    warnings: list[str] = field(default_factory=list)
    # Current block nesting depth, used to stop Python-Markdown's recursion early.
    depth: int = 0
    # The options convert() was given.
    math: MathMacros | None = None
    diagrams: Diagrams | None = None
    # Files made during the conversion (rendered diagrams), each once.
    generated: list[GeneratedAttachment] = field(default_factory=list)
    diagram_count: int = 0

    def reset(self) -> None:
        self.fences.clear()
        self.details_titles.clear()
        self.attachments.clear()
        self.warnings.clear()
        self.depth = 0

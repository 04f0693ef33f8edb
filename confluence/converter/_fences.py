"""What a fenced block becomes: the code macro, or the macro its info word names (``noformat``,
``math``), or a diagram's image."""

from __future__ import annotations

import xml.etree.ElementTree as etree

from ._macros import code_macro, info_word, macro
from ._math import math_block
from ._state import ConversionState
from .diagrams import DIAGRAM_KINDS, LABELS, DiagramError


def fence_element(info: str, code: str, state: ConversionState) -> etree.Element:
    word = info_word(info)
    if word == "noformat":
        # Confluence's preformatted box without highlighting or a language badge.
        return macro("noformat", plain_body=code)[0]
    if word == "math":
        # GitHub's ```math fence, and the $$ blocks extract_fences lifts out under this name.
        return math_block(code, state)
    kind = DIAGRAM_KINDS.get(word)
    if kind is not None:
        return _diagram(kind, code, state)
    return code_macro(code, info)


def _diagram(kind: str, source: str, state: ConversionState) -> etree.Element:
    state.diagram_count += 1
    label = LABELS[kind]
    diagrams = state.diagrams
    if diagrams is None or not diagrams.handles(kind):
        return _diagram_source(kind, source, f"{label} diagram (source: no {label} renderer is configured)")
    try:
        attachment = diagrams.render(kind, source)
    except DiagramError as error:
        state.warnings.append(f"{label} diagram {state.diagram_count} was not rendered and shows its source: {error}")
        return _diagram_source(kind, source, f"{label} diagram (source: it could not be rendered)")
    if all(known.name != attachment.name for known in state.generated):
        state.generated.append(attachment)
    paragraph = etree.Element("p")
    image = etree.SubElement(paragraph, "ac:image", {"ac:alt": f"{label} diagram"})
    etree.SubElement(image, "ri:attachment", {"ri:filename": attachment.name})
    return paragraph


def _diagram_source(kind: str, source: str, note: str) -> etree.Element:
    # The language names the diagram kind so a reader (or a diagram app on the site) can tell; the
    # title says why the picture is missing.
    return macro("code", {"language": kind, "title": note}, plain_body=source)[0]

"""The converter's options as the settings configure them (diagram renderers, math macros), shared by
every service that converts Markdown."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings

from confluence.converter import Diagrams, MathMacros
from confluence.converter.diagrams import diagrams_from_settings


@dataclass(frozen=True)
class ConverterOptions:
    math: MathMacros | None
    # Only for callers that upload Converted.generated: the page refers to the rendered images by name.
    diagrams: Diagrams | None


def converter_options() -> ConverterOptions:
    return _options(
        settings.MATH_MACROS,
        settings.MERMAID_CLI,
        settings.MERMAID_CHROMIUM,
        settings.PLANTUML_COMMAND,
        settings.PLANTUML_SERVER_URL,
        settings.DIAGRAM_TIMEOUT,
    )


@cache
def _options(
    math: str, mermaid_cli: str, chromium: str, plantuml_command: str, plantuml_server_url: str, timeout: float
) -> ConverterOptions:
    # Built once per configuration: the diagram renderers keep a cache of rendered images.
    return ConverterOptions(
        math=MathMacros.parse(math),
        diagrams=diagrams_from_settings(
            mermaid_cli=mermaid_cli,
            chromium=chromium,
            plantuml_command=plantuml_command,
            plantuml_server_url=plantuml_server_url,
            timeout=timeout,
        ),
    )

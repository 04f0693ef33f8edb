"""Mermaid and PlantUML fences: the rendered image as an attachment when a renderer is configured,
else (or when rendering fails, with a warning) the source in a code macro that says why.

The renderers are driven for real, against small scripts standing in for mmdc and PlantUML's
command line, and a PlantUML server on loopback: no network, no npm download."""

from __future__ import annotations

import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from confluence.converter import Diagrams, GeneratedAttachment, convert
from confluence.converter.diagrams import (
    MermaidCli,
    PlantUmlCommand,
    PlantUmlServer,
    diagrams_from_settings,
    plantuml_encode,
)

from .xml import assert_converts

RENDERERS = Path(__file__).parent / "renderers"
MMDC = [sys.executable, str(RENDERERS / "fake_mmdc.py")]
PLANTUML = [sys.executable, str(RENDERERS / "fake_plantuml.py")]
PNG = b"\x89PNG\r\n\x1a\n"
FLOW = "graph TD\n  A[Start] --> B{Ok?}"


def source_macro(language: str, note: str, source: str) -> str:
    return (f'<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">{language}</ac:parameter>'
            f'<ac:parameter ac:name="title">{note}</ac:parameter><ac:plain-text-body><![CDATA[{source}]]>'
            "</ac:plain-text-body></ac:structured-macro>")


def image(name: str, label: str) -> str:
    return f'<p><ac:image ac:alt="{label} diagram"><ri:attachment ri:filename="{name}"/></ac:image></p>'


@pytest.mark.parametrize(("fence", "language", "label"), [("mermaid", "mermaid", "Mermaid"),
                                                          ("plantuml", "plantuml", "PlantUML"),
                                                          ("puml", "plantuml", "PlantUML")])
def test_without_a_renderer_the_source_is_shown_with_a_note(fence, language, label):
    converted = convert(f"```{fence}\n{FLOW}\n```")
    assert_converts(f"```{fence}\n{FLOW}\n```",
                    source_macro(language, f"{label} diagram (source: no {label} renderer is configured)", FLOW))
    assert (converted.generated, converted.warnings) == ([], [])


def test_mermaid_cli_renders_the_image_as_an_attachment():
    diagrams = Diagrams(mermaid=MermaidCli(MMDC, chromium="/usr/bin/chromium"))
    indented = "\n".join("  " + line for line in FLOW.split("\n"))
    converted = convert(f"Flow:\n\n```mermaid\n{FLOW}\n```\n\n- again:\n\n  ```mermaid\n{indented}\n  ```",
                        diagrams=diagrams)
    [generated] = converted.generated
    assert generated.name.startswith("mermaid-") and generated.name.endswith(".png")
    assert generated == GeneratedAttachment(generated.name, PNG + b"mermaid:" + FLOW.encode(), "image/png")
    assert converted.body == (f"<p>Flow:</p>\n{image(generated.name, 'Mermaid')}\n<ul><li><p>again:</p>"
                              f"{image(generated.name, 'Mermaid')}</li></ul>").replace("/>", "></ri:attachment>")
    assert converted.warnings == []
    # The name follows the source: the same diagram keeps it (an unchanged page stays unchanged), another changes it.
    assert convert(f"```mermaid\n{FLOW}\n```", diagrams=diagrams).generated[0].name == generated.name
    assert convert("```mermaid\ngraph LR\n```", diagrams=diagrams).generated[0].name != generated.name


def test_plantuml_command_renders_and_adds_the_start_and_end_lines():
    converted = convert("```plantuml\nAlice -> Bob: hi\n```", diagrams=Diagrams(plantuml=PlantUmlCommand(PLANTUML)))
    [generated] = converted.generated
    assert generated.data == PNG + b"plantuml:@startuml\nAlice -> Bob: hi\n@enduml\n"
    assert_converts("```plantuml\nAlice -> Bob: hi\n```", image(generated.name, "PlantUML"),
                    diagrams=Diagrams(plantuml=PlantUmlCommand(PLANTUML)))


@pytest.mark.parametrize(
    ("renderer", "source", "reason"),
    [
        (MermaidCli(MMDC), "graph TD; A--\nsyntax error",
         "the renderer failed (exit status 1): Error: Parse error on line 2: graph TD; A-- -------------^"),
        (MermaidCli(MMDC, timeout=0.5), "sleep", "the renderer took longer than 0.5 s"),
        (MermaidCli(MMDC), "not a png", "the Mermaid CLI did not produce a PNG image"),
        (MermaidCli(["/nonexistent/mmdc"]), FLOW, "the renderer '/nonexistent/mmdc' is not installed on the portal's server"),
    ],
)
def test_a_failing_renderer_keeps_the_source_and_warns(renderer, source, reason):
    converted = convert(f"# Flow\n\n```mermaid\n{source}\n```\n\nAfter.", diagrams=Diagrams(mermaid=renderer))
    assert converted.generated == []
    assert converted.warnings == [f"Mermaid diagram 1 was not rendered and shows its source: {reason}"]
    assert source_macro("mermaid", "Mermaid diagram (source: it could not be rendered)", source) in converted.body
    assert converted.body.endswith("<p>After.</p>")


def test_a_failing_plantuml_command_warns_with_its_message():
    converted = convert("```plantuml\nsyntax error\n```", diagrams=Diagrams(plantuml=PlantUmlCommand(PLANTUML)))
    assert converted.warnings == [
        "PlantUML diagram 1 was not rendered and shows its source: the renderer failed (exit status 200): "
        "ERROR 2 Syntax Error?"
    ]


def test_a_renderer_that_raises_anything_else_is_a_warning_not_an_error():
    class Broken:
        def render(self, source: str) -> bytes:
            raise KeyError("bug")

    converted = convert(f"```mermaid\n{FLOW}\n```", diagrams=Diagrams(mermaid=Broken()))
    assert converted.warnings == [
        "Mermaid diagram 1 was not rendered and shows its source: the renderer failed unexpectedly (KeyError)"
    ]


def test_only_the_configured_kinds_are_rendered():
    converted = convert(f"```plantuml\nA -> B\n```\n\n```mermaid\n{FLOW}\n```", diagrams=Diagrams(mermaid=MermaidCli(MMDC)))
    assert [item.name.split("-")[0] for item in converted.generated] == ["mermaid"]
    assert "PlantUML diagram (source: no PlantUML renderer is configured)" in converted.body


def test_rendered_images_are_cached():
    calls: list[str] = []

    class Counting:
        def render(self, source: str) -> bytes:
            calls.append(source)
            return PNG

    diagrams = Diagrams(mermaid=Counting(), cache_size=1)
    for source in ("a", "a", "b", "a"):
        convert(f"```mermaid\n{source}\n```", diagrams=diagrams)
    assert calls == ["a", "b", "a"]


def _plantuml_decode(encoded: str) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
    data = bytearray()
    for start in range(0, len(encoded), 4):
        value = 0
        for char in encoded[start : start + 4]:
            value = value << 6 | alphabet.index(char)
        data += value.to_bytes(3, "big")
    return zlib.decompressobj(-15).decompress(bytes(data)).decode()


@pytest.fixture
def plantuml_server() -> Iterator[tuple[str, list[str]]]:
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name
            source = _plantuml_decode(self.path.removeprefix("/plantuml/png/"))
            received.append(source)
            if "syntax error" in source:
                self.send_response(400)
                self.send_header("X-PlantUML-Diagram-Error", "Syntax Error?")
                self.send_header("X-PlantUML-Diagram-Error-Line", "2")
                body = PNG
            else:
                self.send_response(200)
                body = PNG + source.encode()
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/plantuml/", received
    finally:
        server.shutdown()
        server.server_close()


def test_plantuml_server_renders_from_the_encoded_url(plantuml_server):
    url, received = plantuml_server
    diagrams = Diagrams(plantuml=PlantUmlServer(url))
    converted = convert("```plantuml\nAlice -> Bob: héllo\n```", diagrams=diagrams)
    assert received == ["@startuml\nAlice -> Bob: héllo\n@enduml\n"]
    assert converted.generated[0].data == PNG + received[0].encode()
    failed = convert("```plantuml\n@startuml\nsyntax error\n@enduml\n```", diagrams=diagrams)
    assert failed.warnings == [
        "PlantUML diagram 1 was not rendered and shows its source: the PlantUML server answered 400 on line 2: "
        "Syntax Error?"
    ]


def test_unreachable_plantuml_server_names_no_url():
    converted = convert("```plantuml\nA -> B\n```",
                        diagrams=Diagrams(plantuml=PlantUmlServer("http://user:secret@127.0.0.1:9/", timeout=2)))
    [warning] = converted.warnings
    assert "could not be reached (ConnectionError)" in warning and "secret" not in warning


def test_plantuml_encoding_round_trips():
    source = "@startuml\n" + "A -> B: x\n" * 50 + "@enduml"
    assert _plantuml_decode(plantuml_encode(source)) == source


def test_renderers_from_settings():
    assert diagrams_from_settings() is None
    configured = diagrams_from_settings(mermaid_cli="mmdc --quiet", plantuml_server_url="https://p.example/plantuml")
    assert configured is not None
    assert isinstance(configured.renderers["mermaid"], MermaidCli)
    assert configured.renderers["mermaid"].command == ["mmdc", "--quiet"]
    assert isinstance(configured.renderers["plantuml"], PlantUmlServer)
    both = diagrams_from_settings(plantuml_command="java -jar /opt/plantuml.jar", plantuml_server_url="https://p")
    assert both is not None and isinstance(both.renderers["plantuml"], PlantUmlCommand)
    assert both.renderers["plantuml"].command == ["java", "-jar", "/opt/plantuml.jar"]

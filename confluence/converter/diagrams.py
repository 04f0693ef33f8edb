"""Diagram renderers: Mermaid and PlantUML sources to PNG images the page shows as attachments.

The converter calls ``Diagrams.render()`` for each ```` ```mermaid ```` or ```` ```plantuml ````
fence; the image goes to ``Converted.generated`` for the caller to upload, and the page refers to it
by name. Renderers are external programs or a PlantUML server: each failure (missing program,
timeout, syntax error, bad answer) is a ``DiagramError`` whose message is for the page's author.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import tempfile
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What a diagram's fence may be called, and the kind it is.
DIAGRAM_KINDS = {"mermaid": "mermaid", "plantuml": "plantuml", "puml": "plantuml"}
LABELS = {"mermaid": "Mermaid", "plantuml": "PlantUML"}
# Error output is cut to this for the author's warning: the first lines say what went wrong.
_MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class GeneratedAttachment:
    """A file the converter made (a rendered diagram), to be attached to the page under ``name``."""

    name: str
    data: bytes
    media_type: str


class DiagramError(Exception):
    """A diagram could not be rendered; the message says why, in words for the page's author."""


class DiagramRenderer(Protocol):
    def render(self, source: str) -> bytes:
        """The diagram as PNG bytes; raises DiagramError."""
        ...


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _png(data: bytes, who: str) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise DiagramError(f"{who} did not produce a PNG image")
    return data


def _run(
    command: list[str],
    *,
    timeout: float,
    stdin: bytes | None = None,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
) -> bytes:
    try:
        finished = subprocess.run(  # noqa: S603 - the command comes from the portal's own settings
            command, input=stdin, capture_output=True, timeout=timeout, cwd=cwd, check=False,
            env={**os.environ, **env} if env else None,
        )
    except FileNotFoundError:
        raise DiagramError(f"the renderer {command[0]!r} is not installed on the portal's server") from None
    except subprocess.TimeoutExpired:
        raise DiagramError(f"the renderer took longer than {timeout:g} s") from None
    except OSError as exc:
        raise DiagramError(f"the renderer could not be started: {exc.strerror or exc}") from None
    if finished.returncode != 0:
        said = finished.stderr.decode("utf-8", "replace").strip() or finished.stdout[:500].decode("utf-8", "replace")
        raise DiagramError(_short(f"the renderer failed (exit status {finished.returncode}): {said}"))
    return finished.stdout


class MermaidCli:
    """Mermaid CLI (``mmdc``), which draws with a headless Chromium: Debian's, by default."""

    def __init__(self, command: Sequence[str] | str, *, chromium: str | None = "/usr/bin/chromium",
                 timeout: float = 60.0) -> None:
        self.command = shlex.split(command) if isinstance(command, str) else list(command)
        self.chromium = chromium
        self.timeout = timeout

    def render(self, source: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="mermaid-") as folder:
            work = Path(folder)
            (work / "diagram.mmd").write_text(source, encoding="utf-8")
            command = [*self.command, "-i", "diagram.mmd", "-o", "diagram.png", "-b", "white"]
            if self.chromium:
                # Puppeteer's own Chromium download is not wanted on a server; the sandbox needs
                # privileges a service account lacks.
                config = {"executablePath": self.chromium, "args": ["--no-sandbox", "--disable-gpu"]}
                (work / "puppeteer.json").write_text(json.dumps(config), encoding="utf-8")
                command += ["-p", "puppeteer.json"]
            _run(command, timeout=self.timeout, cwd=folder)
            output = work / "diagram.png"
            if not output.exists():
                raise DiagramError("the Mermaid CLI wrote no image")
            return _png(output.read_bytes(), "the Mermaid CLI")


def _with_start_end(source: str) -> str:
    # PlantUML wants its @startuml…@enduml frame; Markdown fences usually leave it out.
    return source if source.lstrip().startswith("@start") else f"@startuml\n{source}\n@enduml\n"


class PlantUmlCommand:
    """PlantUML's command line (``java -jar plantuml.jar`` or a ``plantuml`` script), reading the
    source from stdin and writing the PNG to stdout."""

    def __init__(self, command: Sequence[str] | str, *, timeout: float = 60.0) -> None:
        self.command = shlex.split(command) if isinstance(command, str) else list(command)
        self.timeout = timeout

    def render(self, source: str) -> bytes:
        # The source is the author's: PlantUML's sandbox profile keeps !include and similar directives from
        # reading the server's files or fetching URLs into the picture.
        output = _run([*self.command, "-tpng", "-pipe"], timeout=self.timeout,
                      stdin=_with_start_end(source).encode("utf-8"), env={"PLANTUML_SECURITY_PROFILE": "SANDBOX"})
        return _png(output, "PlantUML")


_PLANTUML_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"


def plantuml_encode(source: str) -> str:
    """PlantUML's text encoding for server URLs: raw deflate, then its own base64 alphabet."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(source.encode("utf-8")) + compressor.flush()
    out: list[str] = []
    for start in range(0, len(data), 3):
        chunk = data[start : start + 3].ljust(3, b"\0")
        value = int.from_bytes(chunk, "big")
        out.extend(_PLANTUML_ALPHABET[(value >> shift) & 0x3F] for shift in (18, 12, 6, 0))
    return "".join(out)


class PlantUmlServer:
    """A PlantUML server (``https://plantuml.example.com/plantuml``), asked for ``/png/<encoded>``."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def render(self, source: str) -> bytes:
        try:
            response = requests.get(f"{self.url}/png/{plantuml_encode(_with_start_end(source))}", timeout=self.timeout)
        except requests.RequestException as exc:
            # The URL is the portal's setting and may carry credentials: only the kind of failure is told.
            raise DiagramError(f"the PlantUML server could not be reached ({type(exc).__name__})") from None
        if response.status_code != 200:
            # PlantUML answers a syntax error with 400 and an image of the error; its header says which line.
            detail = response.headers.get("X-PlantUML-Diagram-Error", "")
            line = response.headers.get("X-PlantUML-Diagram-Error-Line", "")
            where = f" on line {line}" if line else ""
            raise DiagramError(_short(f"the PlantUML server answered {response.status_code}{where}: {detail}".rstrip(": ")))
        return _png(response.content, "the PlantUML server")


class Diagrams:
    """The renderers the converter may use, by diagram kind, with a bounded cache of rendered
    images (a page imported again usually holds the same diagrams). Safe to share between threads."""

    def __init__(self, *, mermaid: DiagramRenderer | None = None, plantuml: DiagramRenderer | None = None,
                 cache_size: int = 128) -> None:
        self.renderers = {kind: renderer for kind, renderer in (("mermaid", mermaid), ("plantuml", plantuml)) if renderer}
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def handles(self, kind: str) -> bool:
        return kind in self.renderers

    def render(self, kind: str, source: str) -> GeneratedAttachment:
        """The rendered diagram as an attachment named after its source (the same diagram keeps its
        name, so an unchanged page stays unchanged). Raises DiagramError."""
        key = (kind, source)
        with self._lock:
            data = self._cache.get(key)
            if data is not None:
                self._cache.move_to_end(key)
        if data is None:
            try:
                data = self.renderers[kind].render(source)
            except DiagramError:
                raise
            except Exception as exc:  # a renderer's bug must not fail the import
                raise DiagramError(f"the renderer failed unexpectedly ({type(exc).__name__})") from exc
            with self._lock:
                self._cache[key] = data
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        digest = hashlib.sha256(f"{kind}\n{source}".encode()).hexdigest()[:16]
        return GeneratedAttachment(f"{kind}-{digest}.png", data, "image/png")


def diagrams_from_settings(*, mermaid_cli: str = "", chromium: str = "/usr/bin/chromium", plantuml_command: str = "",
                           plantuml_server_url: str = "", timeout: float = 60.0) -> Diagrams | None:
    """The renderers the portal's settings configure (empty values: none); None when there are none.
    A PlantUML command wins over a server URL when both are set."""
    mermaid = MermaidCli(mermaid_cli, chromium=chromium or None, timeout=timeout) if mermaid_cli.strip() else None
    plantuml: DiagramRenderer | None = None
    if plantuml_command.strip():
        plantuml = PlantUmlCommand(plantuml_command, timeout=timeout)
    elif plantuml_server_url.strip():
        plantuml = PlantUmlServer(plantuml_server_url.strip(), timeout=timeout)
    if mermaid is None and plantuml is None:
        return None
    return Diagrams(mermaid=mermaid, plantuml=plantuml)

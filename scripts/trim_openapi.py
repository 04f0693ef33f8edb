"""Cut Atlassian's Confluence OpenAPI documents down to the operations the portal implements.

CI runs on clean clones where ``/work/shared/confluence`` may not exist, so the stand-in's contract tests need a
copy in the repository. We must not copy Atlassian's prose, so only the machine-readable parts are kept: paths,
parameters, request bodies, responses and the schemas they reference, without ``description``, ``summary``,
``example(s)`` or vendor ``x-*`` fields. The source file's sha256 is recorded so a test can tell when Atlassian's
document changed and the copy must be regenerated.

    python scripts/trim_openapi.py [--source-dir /work/shared/confluence] [--out-dir confluence/standin/openapi]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = Path("/work/shared/confluence")
DEFAULT_OUT = REPO / "confluence" / "standin" / "openapi"

# (source file, trimmed file name, {path: [methods]}) — exactly the operations the client uses and the stand-in serves.
DOCUMENTS: list[tuple[str, str, dict[str, list[str]]]] = [
    (
        "openapi-v2.v3.json",
        "confluence-v2.json",
        {
            "/spaces": ["get"],
            "/spaces/{id}": ["get"],
            "/pages": ["get", "post"],
            "/pages/{id}": ["get", "put", "delete"],
            "/pages/{id}/labels": ["get"],
            "/pages/{page-id}/properties": ["get", "post"],
            "/pages/{page-id}/properties/{property-id}": ["get", "put"],
            "/users-bulk": ["post"],
            "/pages/{id}/attachments": ["get"],
            "/attachments/{id}": ["delete"],
        },
    ),
    (
        "swagger.v3.json",
        "confluence-v1.json",
        {
            "/wiki/rest/api/content/{id}/label": ["post"],
            "/wiki/rest/api/content/archive": ["post"],
            "/wiki/rest/api/content/{id}/child/attachment": ["put", "post"],
            "/wiki/rest/api/content/{id}/child/attachment/{attachmentId}/download": ["get"],
            "/wiki/rest/api/search/user": ["get"],
            "/wiki/rest/api/analytics/content/{contentId}/views": ["get"],
            "/wiki/rest/api/analytics/content/{contentId}/viewers": ["get"],
            "/wiki/rest/api/user/current": ["get"],
            "/wiki/rest/api/settings/systemInfo": ["get"],
        },
    ),
]

DROPPED_KEYS = {"description", "summary", "example", "examples", "externalDocs", "tags", "security", "deprecated"}
# Keys whose value is a map from names (chosen by the document's authors) to objects: a property may well be
# called "description", so these names are never filtered, only their values are.
NAME_MAPS = {"properties", "schemas", "requestBodies", "responses", "parameters", "headers", "content", "paths"}


def strip(node: Any, *, names: bool = False) -> Any:
    if isinstance(node, list):
        return [strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {name: strip(value) for name, value in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED_KEYS or key.startswith("x-"):
            continue
        out[key] = strip(value, names=key in NAME_MAPS and isinstance(value, dict))
    return out


def collect_refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            collect_refs(value, found)
    elif isinstance(node, list):
        for item in node:
            collect_refs(item, found)


def resolve_pointer(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def trim(doc: dict[str, Any], wanted: dict[str, list[str]], *, source_name: str, sha256: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, methods in wanted.items():
        item = doc["paths"][path]
        kept = {method: item[method] for method in methods}
        if "parameters" in item:
            kept["parameters"] = item["parameters"]
        paths[path] = strip(kept, names=True)
    # Follow $refs transitively (through the original, unstripped components) until closed.
    components: dict[str, dict[str, Any]] = {}
    pending: set[str] = set()
    collect_refs(paths, pending)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, section, name = ref.split("/", 2)[0], *ref[2:].split("/")[1:3]
        target = strip(resolve_pointer(doc, ref))
        components.setdefault(section, {})[name] = target
        collect_refs(target, pending)
    return {
        "openapi": doc["openapi"],
        "info": {"title": doc["info"]["title"], "version": doc["info"]["version"]},
        "servers": [{"url": server["url"]} for server in doc.get("servers", [])],
        "x-trimmed-from": {"file": source_name, "sha256": sha256},
        "paths": paths,
        "components": {section: dict(sorted(items.items())) for section, items in sorted(components.items())},
    }


def render(source_dir: Path) -> dict[str, str]:
    """Trimmed file name -> its exact text, so a test can compare without writing."""
    rendered: dict[str, str] = {}
    for source_name, out_name, wanted in DOCUMENTS:
        raw = (source_dir / source_name).read_bytes()
        trimmed = trim(json.loads(raw), wanted, source_name=source_name, sha256=hashlib.sha256(raw).hexdigest())
        rendered[out_name] = json.dumps(trimmed, indent=1, sort_keys=True) + "\n"
    return rendered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in render(args.source_dir).items():
        (args.out_dir / name).write_text(text, encoding="utf-8")
        print(f"wrote {args.out_dir / name} ({len(text)} bytes)")


if __name__ == "__main__":
    main()

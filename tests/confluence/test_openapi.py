"""The stand-in and the client checked against (trimmed copies of) Atlassian's OpenAPI documents: every request the
client sends and every answer the stand-in gives, for every operation the stand-in implements."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import confluence.standin
from confluence.client import ConfluenceClient
from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN, StandinServer
from confluence.standin import api as standin_api
from tests.confluence.conftest import FakeTime

REPO = Path(__file__).resolve().parents[2]
OPENAPI_DIR = Path(confluence.standin.__file__).parent / "openapi"
SHARED = Path("/work/shared/confluence")
# name -> (file, the prefix the document's paths are relative to)
DOCUMENTS = {"v2": ("confluence-v2.json", "/wiki/api/v2"), "v1": ("confluence-v1.json", "")}
METHODS = {"get", "post", "put", "delete"}


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema 2020-12: ``nullable`` becomes a union with null."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    # Atlassian's oneOf alternatives are open objects that overlap (a page body {representation, value} is valid as
    # both PageBodyWrite and PageNestedBodyWrite), so a strict oneOf would refuse every body; they mean anyOf.
    converted = {("anyOf" if key == "oneOf" else key): _openapi_to_jsonschema(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True:
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


class Contract:
    def __init__(self, name: str) -> None:
        filename, self.prefix = DOCUMENTS[name]
        self.raw = json.loads((OPENAPI_DIR / filename).read_text())
        self.uri = f"urn:confluence-{name}"
        resource = Resource.from_contents(_openapi_to_jsonschema(self.raw), default_specification=DRAFT202012)
        self.registry = Registry().with_resource(self.uri, resource)
        self.templates = [
            (re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", self.prefix + path) + "$"), path)
            for path in self.raw["paths"]
        ]

    def operations(self) -> set[tuple[str, str]]:
        return {(m.upper(), p) for p, item in self.raw["paths"].items() for m in item if m in METHODS}

    def match(self, method: str, path: str) -> str | None:
        return next(
            (t for pattern, t in self.templates if pattern.match(path) and method.lower() in self.raw["paths"][t]), None
        )

    def _deref(self, node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
        while "$ref" in node:
            pointer = node["$ref"]
            node = self.raw
            for part in pointer[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def validate(self, pointer: str, instance: Any) -> list[str]:
        validator = Draft202012Validator({"$ref": f"{self.uri}{pointer}"}, registry=self.registry)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]

    def check(
        self, method: str, template: str, query: list[tuple[str, str]], body: Any, status: int, answer: Any
    ) -> list[str]:
        escaped = template.replace("~", "~0").replace("/", "~1")
        base = f"#/paths/{escaped}/{method.lower()}"
        operation = self.raw["paths"][template][method.lower()]
        problems: list[str] = []
        declared = {}
        for parameter in operation.get("parameters", []) + self.raw["paths"][template].get("parameters", []):
            parameter, _ = self._deref(parameter, "")
            if parameter.get("in") == "query":
                declared[parameter["name"]] = parameter
        for name, value in query:
            if name not in declared:
                problems.append(f"query parameter {name!r} is not in the document")
                continue
            schema = declared[name].get("schema", {})
            item_schema = schema.get("items", schema) if schema.get("type") == "array" else schema
            item_schema, _ = self._deref(item_schema, "")  # parameter schemas only refer to plain enums
            typed: Any = int(value) if item_schema.get("type") == "integer" and value.lstrip("-").isdigit() else value
            problems += [
                f"query {name}: {p}"
                for p in Draft202012Validator(_openapi_to_jsonschema(item_schema)).iter_errors(typed)
            ]
        if "requestBody" in operation:
            request_body, pointer = self._deref(operation["requestBody"], f"{base}/requestBody")
            media = "multipart/form-data" if isinstance(body, FormBody) else "application/json"
            if body is not None and media not in request_body.get("content", {}):
                problems.append(f"request: {media} is not a documented body of this operation")
            elif body is not None:
                escaped_media = media.replace("/", "~1")
                problems += [
                    f"request: {p}" for p in self.validate(f"{pointer}/content/{escaped_media}/schema", body)
                ]
            elif request_body.get("required"):
                problems.append("request body required but missing")
        response = operation["responses"].get(str(status))
        if response is None:
            problems.append(f"status {status} is not documented")
        else:
            response, pointer = self._deref(response, f"{base}/responses/{status}")
            if (
                "application/json" in response.get("content", {})
                and "schema" in response["content"]["application/json"]
            ):
                problems += [
                    f"response: {p}" for p in self.validate(f"{pointer}/content/application~1json/schema", answer)
                ]
        return problems


CONTRACTS = {name: Contract(name) for name in DOCUMENTS}


def _contract_for(path: str) -> tuple[Contract, str] | None:
    for contract in CONTRACTS.values():
        if contract.prefix and not path.startswith(contract.prefix):
            continue
        return contract, path
    return None


class FormBody(dict):
    """A multipart/form-data request as its fields (file parts by their file name), so the document's schema of
    the form (``file``, ``comment``, ``minorEdit`` as binary strings) can check it."""


def _request_body(request: requests.PreparedRequest) -> Any:
    raw = request.body
    if not raw:
        return None
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("multipart/form-data"):
        assert isinstance(raw, bytes)
        return FormBody(
            (part.name, part.filename or part.data.decode("utf-8", "replace"))
            for part in standin_api.parse_form(content_type, raw)
        )
    return json.loads(raw)


class Recorder:
    """Observes every exchange of a real requests.Session (nothing is faked): method, path, query, bodies, status."""

    def __init__(self) -> None:
        self.exchanges: list[tuple[str, str, list[tuple[str, str]], Any, int, Any]] = []
        self.session = requests.Session()
        self.session.hooks["response"].append(self._record)

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        split = urlsplit(request.url or "")
        body = _request_body(request)
        json_answer = response.headers.get("Content-Type", "").startswith("application/json")
        answer = response.json() if response.content and json_answer else response.content or None
        self.exchanges.append(
            (request.method or "", split.path, parse_qsl(split.query), body, response.status_code, answer)
        )


@pytest.fixture(scope="module")
def recorded() -> Recorder:
    recorder = Recorder()
    fake = FakeTime()
    with StandinServer(port=0, pages=60, users=40) as server:
        confluence = ConfluenceClient(
            base_url=server.url,
            email=DEFAULT_EMAIL,
            api_token=DEFAULT_TOKEN,
            session=recorder.session,
            sleep=fake.sleep,
            clock=fake.clock,
        )
        assert confluence.check_connection().ok
        docs = confluence.space("DOCS")
        list(confluence.iter_spaces())
        uncached = ConfluenceClient(
            base_url=server.url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN, session=recorder.session
        )
        uncached.space(docs.id)
        page = confluence.create_page(space_id=docs.id, title="Contract", body="<p>a</p>", parent_id=docs.homepage_id)
        confluence.page(page.id, with_body=True)
        confluence.page(page.id)
        confluence.page_by_title(docs.id, "Contract", with_body=True)
        list(confluence.iter_pages(docs.id, limit=7))
        assert set(confluence.pages_by_id([page.id, docs.homepage_id or ""], with_body=True)) == {page.id, docs.homepage_id}
        confluence.update_page(page_id=page.id, title="Contract", body="<p>b</p>", version=2, message="why")
        confluence.add_labels(page.id, ["one", "two"])
        confluence.labels(page.id)
        prop = confluence.set_property(page.id, "md-portal", {"hash": "x", "n": 1})
        confluence.set_property(page.id, "md-portal", {"hash": "y"})
        recorder.session.get(
            f"{server.url}/wiki/api/v2/pages/{page.id}/properties/{prop.id}",
            auth=(DEFAULT_EMAIL, DEFAULT_TOKEN),
            timeout=5,
        )
        refs = list(confluence.iter_users(limit=15))
        confluence.users_bulk([r.account_id for r in refs])
        confluence.page_views(page.id)
        confluence.page_viewers(page.id)
        recorder.session.get(
            f"{server.url}/wiki/rest/api/settings/systemInfo", auth=(DEFAULT_EMAIL, DEFAULT_TOKEN), timeout=5
        )
        other = confluence.create_page(space_id=docs.id, title="Deleted", body="<p/>")
        confluence.delete_page(other.id)
        retired = confluence.create_page(space_id=docs.id, title="Archived", body="<p/>")
        confluence.archive_page(retired.id)
        diagram = confluence.upload_attachment(
            page.id, filename="diagram.png", data=b"\x89PNG one", media_type="image/png", comment="sha256:1"
        )
        confluence.upload_attachment(
            page.id, filename="diagram.png", data=b"\x89PNG two", media_type="image/png", comment="sha256:2"
        )
        confluence.upload_attachment(
            page.id, filename="guide.pdf", data=b"%PDF-1.7", media_type="application/pdf", comment=""
        )
        recorder.session.post(
            f"{server.url}/wiki/rest/api/content/{page.id}/child/attachment",
            files={"file": ("notes.txt", b"plain", "text/plain")},
            data={"minorEdit": "true"},
            headers={"X-Atlassian-Token": "no-check"},
            auth=(DEFAULT_EMAIL, DEFAULT_TOKEN),
            timeout=5,
        )
        first = recorder.session.get(
            f"{server.url}/wiki/api/v2/pages/{page.id}/attachments",
            params={"limit": 2, "status": "current", "sort": "created-date"},
            auth=(DEFAULT_EMAIL, DEFAULT_TOKEN),
            timeout=5,
        )
        recorder.session.get(
            f"{server.url}{first.links['next']['url']}", auth=(DEFAULT_EMAIL, DEFAULT_TOKEN), timeout=5
        )
        confluence.attachments(page.id)
        confluence.attachment_data(page.id, diagram.id)
        confluence.delete_attachment(diagram.id)
    return recorder


def _api_exchanges(recorded: Recorder) -> list[tuple[str, str, list[tuple[str, str]], Any, int, Any]]:
    # The file behind an attachment's download redirect is not an API operation.
    return [exchange for exchange in recorded.exchanges if not exchange[1].startswith("/wiki/download/")]


def test_attachment_files_were_served(recorded: Recorder) -> None:
    files = [(path, status, answer) for _m, path, _q, _b, status, answer in recorded.exchanges if "/download/" in path]
    assert [(status, answer) for path, status, answer in files if path.startswith("/wiki/download/")] == [
        (200, b"\x89PNG two")
    ]


def test_every_exchange_matches_the_documents(recorded: Recorder) -> None:
    problems = []
    for method, path, query, body, status, answer in _api_exchanges(recorded):
        found = _contract_for(path)
        assert found is not None, path
        contract, _ = found
        template = contract.match(method, path)
        assert template is not None, f"{method} {path} is not an operation of the trimmed documents"
        problems += [f"{method} {path}: {p}" for p in contract.check(method, template, query, body, status, answer)]
    assert problems == []


def test_every_implemented_operation_was_exercised(recorded: Recorder) -> None:
    seen = set()
    for method, path, *_rest, status, _answer in _api_exchanges(recorded):
        contract, _ = _contract_for(path)  # type: ignore[misc]
        template = contract.match(method, path)
        if status < 400:
            seen.add((method, contract.prefix + (template or "")))
    documented = {(m, c.prefix + p) for c in CONTRACTS.values() for m, p in c.operations()}
    assert documented - seen == set()


def test_stand_in_routes_are_the_documented_operations() -> None:
    documented = {c.raw["paths"][p][m.lower()]["operationId"] for c in CONTRACTS.values() for m, p in c.operations()}
    implemented = {op for _m, _t, op, _h in standin_api.ROUTES if op != "removedV1Content"}
    assert implemented == documented


def test_the_validator_catches_a_wrong_shape() -> None:
    v2 = CONTRACTS["v2"]
    bad_page = {"id": 5, "version": {"number": "one"}}
    assert len(v2.check("GET", "/pages/{id}", [], None, 200, bad_page)) == 2
    assert v2.check("POST", "/pages", [("bogus", "1")], {"spaceId": 1}, 200, {}) != []
    assert v2.check("GET", "/pages/{id}", [], None, 200, {"id": "5", "ownerId": None}) == []
    v1 = CONTRACTS["v1"]
    upload = "/wiki/rest/api/content/{id}/child/attachment"
    answer = {"results": [{"id": "att1", "type": "attachment", "status": "current"}], "size": 1, "_links": {}}
    assert v1.check("PUT", upload, [], FormBody(file="a.png", minorEdit="true"), 200, answer) == []
    assert len(v1.check("PUT", upload, [], FormBody(file="a.png"), 200, answer)) == 1  # minorEdit is required
    assert len(v1.check("PUT", upload, [], {"file": "a.png", "minorEdit": "true"}, 200, answer)) == 1  # JSON body
    assert len(v1.check("PUT", upload, [], FormBody(file="a.png", minorEdit="true"), 200, {"results": []})) == 2


def test_error_bodies_have_confluence_shapes(standin: StandinServer) -> None:
    auth = (DEFAULT_EMAIL, DEFAULT_TOKEN)
    missing = requests.get(f"{standin.url}/wiki/api/v2/spaces/999999", auth=auth, timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {"errors": [{"status": 404, "code": "NOT_FOUND", "title": "Not Found", "detail": None}]}
    v1_missing = requests.get(f"{standin.url}/wiki/rest/api/analytics/content/999999/views", auth=auth, timeout=5)
    assert v1_missing.status_code == 404 and v1_missing.json()["statusCode"] == 404
    gone = requests.get(f"{standin.url}/wiki/rest/api/content/1", auth=auth, timeout=5)
    assert gone.status_code == 410
    unauthorised = requests.get(f"{standin.url}/wiki/api/v2/spaces", timeout=5)
    assert unauthorised.status_code == 401 and unauthorised.json()["errors"][0]["status"] == 401


# ---------------------------------------------------------------------- the trimmed copies themselves


def _load_trim_script() -> Any:
    spec = importlib.util.spec_from_file_location("trim_openapi", REPO / "scripts" / "trim_openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not SHARED.exists(), reason=f"Atlassian's documents are not at {SHARED} (a clean clone)")
def test_trimmed_documents_are_up_to_date() -> None:
    rendered = _load_trim_script().render(SHARED)
    for name, text in rendered.items():
        assert (OPENAPI_DIR / name).read_text() == text, f"run: python scripts/trim_openapi.py ({name} is stale)"


def _prose_keys(node: Any, *, names: bool = False, found: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _prose_keys(item, found=found)
    elif isinstance(node, dict):
        for key, value in node.items():
            if not names and (
                key in {"description", "summary", "example", "examples"}
                or (key.startswith("x-") and key != "x-trimmed-from")
            ):
                found.append(key)
            name_map = (
                key
                in {"properties", "schemas", "requestBodies", "responses", "parameters", "headers", "content", "paths"}
                and not names
            )
            _prose_keys(value, names=name_map, found=found)


@pytest.mark.parametrize("name", [f for f, _ in DOCUMENTS.values()])
def test_trimmed_documents_carry_no_prose(name: str) -> None:
    document = json.loads((OPENAPI_DIR / name).read_text())
    found: list[str] = []
    _prose_keys(document, names=False, found=found)
    assert found == []
    assert re.fullmatch(r"[0-9a-f]{64}", document["x-trimmed-from"]["sha256"])

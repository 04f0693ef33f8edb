"""What a valid import request is: the body of `POST /api/v1/imports`, checked field by field.

Strict on purpose: a CI job that sends `"overwrite": "false"` or a misspelt field gets told, rather than
getting a page it did not ask for.
"""

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from confluence.spaces import is_numeric_id, is_space_key
from portal.errors import PortalError

FIELDS = {"spaceId", "parentId", "pageTitle", "content", "overwrite", "labels", "sourceRef", "versionMessage"}
REQUIRED = ("spaceId", "pageTitle", "content")
MAX_LABELS = 100
MAX_LABEL_LENGTH = 255
# Confluence refuses these in a label (and spaces, which would split one label into several).
_LABEL_FORBIDDEN = set("!#&()*,.:;<>?@[]^") | {"\\", "/", '"', "'", "`", "{", "}", "|", "="}


class InvalidRequest(PortalError):
    status = 400
    code = "invalid_request"


class ContentTooLarge(PortalError):
    status = 413
    code = "content_too_large"


@dataclass(frozen=True)
class ImportRequest:
    space: str
    title: str
    content: str
    parent_id: str | None = None
    overwrite: bool = False
    labels: tuple[str, ...] = ()
    source_ref: str = ""
    version_message: str = ""
    content_bytes: int = 0
    content_sha256: str = ""
    # What Idempotency-Key retries are compared on: the parsed request, so key order and whitespace in
    # the JSON do not make an identical retry look different.
    request_hash: str = field(default="", compare=False)

    @property
    def space_is_id(self) -> bool:
        return is_numeric_id(self.space)


def utf8_size(text: str) -> int:
    # surrogatepass: a lone surrogate from JSON ("\ud800") must be counted, not crash the count.
    return len(text.encode("utf-8", "surrogatepass"))


def printable(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cs"})


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cs"} for ch in text)


def _string(data: dict, name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string", field=name)
    return value


def parse_title(value: str) -> str:
    title = value.strip()
    if not title or len(title) > 255:
        raise PortalError("pageTitle must be 1 to 255 characters after trimming", code="title_invalid", field="pageTitle")
    if has_control_characters(title):
        raise PortalError("pageTitle must not contain control characters", code="title_invalid", field="pageTitle")
    return title


def parse_labels(values: Any, *, source: str = "labels") -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise PortalError(f"{source} must be a list of strings", code="labels_invalid", field="labels")
    if len(values) > MAX_LABELS:
        raise PortalError(f"at most {MAX_LABELS} labels", code="labels_invalid", field="labels")
    labels: list[str] = []
    for raw in values:
        label = raw.strip().lower()  # Confluence stores labels in lower case
        bad = sorted({ch for ch in label if ch in _LABEL_FORBIDDEN or ch.isspace()})
        if not label or len(label) > MAX_LABEL_LENGTH or bad or has_control_characters(label):
            reason = f"contains {' '.join(repr(ch) for ch in bad)}" if bad else "must be 1 to 255 printable characters"
            raise PortalError(f"label {raw[:60]!r} {reason}", code="labels_invalid", field="labels")
        if label not in labels:
            labels.append(label)
    return tuple(labels)


def parse_import_request(data: Any, *, max_content_bytes: int) -> ImportRequest:
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        # Echoed in the answer and the audit record, which can hold neither a NUL (PostgreSQL) nor a lone surrogate
        # (UTF-8): such a name is written as Python would, escapes and all.
        name = (unknown[0] if unknown[0].isprintable() else ascii(unknown[0]))[:100]
        raise InvalidRequest(f"unknown field: {name}", field=name)

    space = _string(data, "spaceId", required=True)
    title = _string(data, "pageTitle", required=True)
    content = _string(data, "content", required=True)
    assert space is not None and title is not None and content is not None

    size = utf8_size(content)
    if size > max_content_bytes:
        raise ContentTooLarge(
            f"content is {size} bytes of UTF-8; the limit is {max_content_bytes}", field="content"
        )
    if not content.strip():
        raise PortalError("content must not be empty or whitespace", code="content_empty", field="content")
    if not is_space_key(space):
        raise InvalidRequest("spaceId must be a space key (e.g. DOCS) or a numeric space id", field="spaceId")

    parent_id = _string(data, "parentId")
    if parent_id is not None and not is_numeric_id(parent_id):
        raise InvalidRequest("parentId must be a numeric page id", field="parentId")

    overwrite = data.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise InvalidRequest("overwrite must be true or false", field="overwrite")

    labels = parse_labels(data["labels"]) if data.get("labels") is not None else ()

    source_ref = _string(data, "sourceRef") or ""
    if len(source_ref) > 500 or has_control_characters(source_ref):
        raise InvalidRequest("sourceRef must be at most 500 printable characters", field="sourceRef")
    version_message = _string(data, "versionMessage") or ""
    if len(version_message) > 500 or has_control_characters(version_message.replace("\n", " ")):
        raise InvalidRequest("versionMessage must be at most 500 printable characters", field="versionMessage")

    encoded = content.encode("utf-8", "surrogatepass")
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return ImportRequest(
        space=space,
        title=parse_title(title),
        content=content,
        parent_id=parent_id,
        overwrite=overwrite,
        labels=labels,
        source_ref=source_ref,
        version_message=version_message.strip(),
        content_bytes=size,
        content_sha256=hashlib.sha256(encoded).hexdigest(),
        request_hash=hashlib.sha256(canonical.encode()).hexdigest(),
    )


def partial_fields(data: Any) -> dict[str, str]:
    """What the audit record can keep of a request that failed validation: the fields that are strings."""
    if not isinstance(data, dict):
        return {}

    def text(name: str, limit: int) -> str:
        value = data.get(name)
        if not isinstance(value, str):
            return ""
        # Stored as text: no NUL (PostgreSQL refuses it), no control characters, no lone surrogates.
        return printable(value)[:limit]

    return {
        "space_key": text("spaceId", 255),
        "parent_id": text("parentId", 64),
        "title": text("pageTitle", 255).strip(),
        "source_ref": text("sourceRef", 500),
    }


# ----------------------------------------------------------------------------- the multipart form

ATTACHMENTS = "attachments"  # the name of every file part
_BOOLEANS = {"true": True, "false": False}


def parse_import_form(fields: dict[str, list[str]], file_fields: list[str]) -> dict[str, Any]:
    """The text fields of a multipart import as the JSON body would carry them, for ``parse_import_request``.

    A form has only strings: ``overwrite`` is ``true`` or ``false``; ``labels`` is either a JSON array of strings
    (``["a","b"]``) or one label per ``labels`` field (a label cannot contain ``[``, so the two never mix up).
    Every other field is sent at most once."""
    unknown = sorted((set(fields) | set(file_fields)) - FIELDS - {ATTACHMENTS})
    if unknown:
        name = (unknown[0] if unknown[0].isprintable() else ascii(unknown[0]))[:100]
        raise InvalidRequest(f"unknown field: {name}", field=name)
    if ATTACHMENTS in fields:
        raise InvalidRequest("attachments must be file parts (with a file name), not text fields", field=ATTACHMENTS)
    as_files = sorted(set(file_fields) - {ATTACHMENTS})
    if as_files:
        raise InvalidRequest(f"{as_files[0]} must be a text field, not a file", field=as_files[0])
    data: dict[str, Any] = {}
    for name, values in fields.items():
        if name == "labels":
            continue
        if len(values) > 1:
            raise InvalidRequest(f"{name} was sent {len(values)} times; send it once", field=name)
        data[name] = values[0]
    if "overwrite" in data:
        text = data["overwrite"].strip().lower()
        if text not in _BOOLEANS:
            raise InvalidRequest("overwrite must be true or false", field="overwrite")
        data["overwrite"] = _BOOLEANS[text]
    labels = fields.get("labels") or []
    if len(labels) == 1 and labels[0].lstrip().startswith("["):
        try:
            data["labels"] = json.loads(labels[0])
        except ValueError:
            raise PortalError(
                "labels must be a JSON array of strings, or one label per labels field", code="labels_invalid",
                field="labels",
            ) from None
    elif labels:
        data["labels"] = labels
    return data


def parse_attachment_files(files: list[tuple[str, bytes]], *, max_total_bytes: int) -> dict[str, bytes]:
    """The files of a multipart import by their path, as the Markdown refers to them ("img/a.png"): relative,
    without ``..``, each once (names compared without case, as Confluence and most file systems do)."""
    total = sum(len(data) for _, data in files)
    if total > max_total_bytes:
        raise ContentTooLarge(
            f"the attachments are {total} bytes together; the limit is {max_total_bytes} (IMPORT_MAX_ATTACHMENT_BYTES)",
            field=ATTACHMENTS,
        )
    found: dict[str, bytes] = {}
    folded: dict[str, str] = {}
    for raw, data in files:
        path = unicodedata.normalize("NFC", raw.strip())
        shown = (path if path.isprintable() else ascii(path))[:200]
        parts = path.split("/")
        if (
            not path or "\\" in path or path.startswith("/") or has_control_characters(path)
            or any(part in {"", ".", ".."} for part in parts)
        ):
            raise InvalidRequest(
                f"attachment file name {shown!r} must be a relative path with / between folders, as the Markdown "
                "refers to it (e.g. img/diagram.png), without . or .. parts",
                field=ATTACHMENTS,
            )
        other = folded.get(path.casefold())
        if other is not None:
            raise InvalidRequest(f"attachment {shown!r} was sent twice (as {other!r})", field=ATTACHMENTS)
        folded[path.casefold()] = path
        found[path] = data
    return found

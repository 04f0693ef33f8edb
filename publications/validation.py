"""What a valid `POST /api/v1/publications` is: its multipart form fields, checked one by one.

The space, parent, sourceRef and versionMessage rules are the import's (imports.validation), so a value one
endpoint takes the other takes too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from imports.validation import _NUMERIC_ID, _SPACE_KEY, InvalidRequest, has_control_characters
from publications.models import Publication

FIELDS = {"bundle", "spaceId", "parentId", "overwrite", "sourceRef", "versionMessage", "dryRun"}
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class PublicationRequest:
    space: str
    parent_id: str | None
    overwrite: str
    source_ref: str
    version_message: str
    dry_run: bool

    @property
    def space_is_id(self) -> bool:
        return bool(_NUMERIC_ID.match(self.space))

    @property
    def source_prefix(self) -> str:
        return self.source_ref.split("@", 1)[0]

    def request_hash(self, bundle_sha256: str) -> str:
        """What Idempotency-Key retries are compared on: the parsed fields and the bundle's bytes."""
        canonical = json.dumps(
            [self.space, self.parent_id, self.overwrite, self.source_ref, self.version_message, self.dry_run,
             bundle_sha256],
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def _one(fields: Mapping[str, list[str]], name: str) -> str | None:
    values = fields.get(name) or []
    if len(values) > 1:
        raise InvalidRequest(f"{name} was sent {len(values)} times; send it once", field=name)
    return values[0] if values else None


def parse_publication_request(fields: Mapping[str, list[str]], file_names: list[str]) -> PublicationRequest:
    """``fields``: the form's text fields (name → values); ``file_names``: the names of its file parts."""
    unknown = sorted((set(fields) | set(file_names)) - FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown field: {unknown[0]}", field=unknown[0])
    if "bundle" in fields:
        raise InvalidRequest("bundle must be sent as a file part of the multipart form", field="bundle")
    if file_names.count("bundle") > 1:
        raise InvalidRequest("send one bundle", field="bundle")
    extra_files = sorted(set(file_names) - {"bundle"})
    if extra_files:
        raise InvalidRequest(f"{extra_files[0]} must be a text field, not a file", field=extra_files[0])

    space = _one(fields, "spaceId")
    if space is None or not space.strip():
        raise InvalidRequest("spaceId is required", field="spaceId")
    space = space.strip()
    if not _SPACE_KEY.match(space):
        raise InvalidRequest("spaceId must be a space key (e.g. DOCS) or a numeric space id", field="spaceId")

    parent_id = (_one(fields, "parentId") or "").strip() or None
    if parent_id is not None and not _NUMERIC_ID.match(parent_id):
        raise InvalidRequest("parentId must be a numeric page id", field="parentId")

    overwrite = (_one(fields, "overwrite") or "false").strip().lower()
    if overwrite not in Publication.Overwrite.values:
        raise InvalidRequest("overwrite must be false, true or force", field="overwrite")

    dry_run_text = (_one(fields, "dryRun") or "false").strip().lower()
    if dry_run_text not in _BOOLEANS:
        raise InvalidRequest("dryRun must be true or false", field="dryRun")

    source_ref = _one(fields, "sourceRef") or ""
    if len(source_ref) > 500 or has_control_characters(source_ref):
        raise InvalidRequest("sourceRef must be at most 500 printable characters", field="sourceRef")
    version_message = (_one(fields, "versionMessage") or "").strip()
    if len(version_message) > 500 or has_control_characters(version_message.replace("\n", " ")):
        raise InvalidRequest("versionMessage must be at most 500 printable characters", field="versionMessage")

    return PublicationRequest(
        space=space,
        parent_id=parent_id,
        overwrite=overwrite,
        source_ref=source_ref.strip(),
        version_message=version_message,
        dry_run=_BOOLEANS[dry_run_text],
    )

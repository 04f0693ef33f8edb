"""The Confluence Cloud REST operations the portal uses, with Confluence's paths, statuses and body shapes.

Each handler takes a ``Request`` and returns a ``Reply``; the HTTP plumbing (auth, faults, latency) is in server.py.
Operation names are the operationIds of Atlassian's OpenAPI documents, so stats and faults speak the same words.
"""

from __future__ import annotations

import base64
import mimetypes
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import policy as email_policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

from confluence.standin.state import (
    SERVICE_ACCOUNT_ID,
    AttachmentRecord,
    PageRecord,
    PropertyRecord,
    StandinState,
    UserRecord,
    iso,
    now,
)
from confluence.standin.storage import StorageError, parse_storage

V2 = "/wiki/api/v2"
V1 = "/wiki/rest/api"
MAX_BODY_BYTES = 5 * 1024 * 1024
TITLE_EXISTS = "A page with this title already exists: A page already exists with the same TITLE in this space"
V2_MAX_LIMIT = 250
V1_USER_SEARCH_MAX_LIMIT = 1000
LABEL_FORBIDDEN = set(" !#&()*,.:;<>?@[]^")


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any
    params: dict[str, str]
    base_url: str  # e.g. http://127.0.0.1:8090, no trailing slash
    account_id: str = SERVICE_ACCOUNT_ID
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.query if key == name), None)

    def get_list(self, name: str) -> list[str]:
        """Array query parameters, sent repeated (OpenAPI's default) or comma-separated (also accepted by Confluence)."""
        values: list[str] = []
        for key, value in self.query:
            if key == name:
                values.extend(v for v in value.split(",") if v)
        return values


@dataclass(frozen=True)
class FormPart:
    """One part of a multipart/form-data body."""

    name: str
    filename: str | None
    content_type: str
    data: bytes


def parse_form(content_type: str, raw: bytes) -> list[FormPart]:
    """The parts of a multipart/form-data body, in order; ValueError when it is not one."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise ValueError("not multipart/form-data with a boundary")
    message = BytesParser(policy=email_policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    )
    if not message.is_multipart():
        raise ValueError("no parts")
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a part without a name")
        payload = part.get_payload(decode=True)
        parts.append(
            FormPart(
                name=name,
                filename=part.get_filename(),
                content_type=part.get_content_type() if part.get("content-type") else "",
                data=payload if isinstance(payload, bytes) else b"",
            )
        )
    return parts


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, title: str, *, v1: bool = False, code: str | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.v1 = v1
        self.code = code


_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    410: "GONE",
    413: "REQUEST_ENTITY_TOO_LARGE",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def error_body(status: int, title: str | None = None, *, v1: bool = False, code: str | None = None) -> dict[str, Any]:
    """v2's ``{"errors": [...]}`` or v1's ``{"statusCode", "data", "message"}``."""
    title = title or _TITLES.get(status, "Error")
    if v1:
        return {
            "statusCode": status,
            "data": {"authorized": status not in (401, 403), "valid": status != 400, "errors": [], "successful": False},
            "message": title,
        }
    return {"errors": [{"status": status, "code": code or _CODES.get(status, "ERROR"), "title": title, "detail": None}]}


# ---------------------------------------------------------------------- helpers


def _cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def _after(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "id":
            raise ValueError(prefix)
        return int(value)
    except ValueError:
        raise ApiError(400, "Invalid cursor") from None


def _limit(request: Request, default: int = 25, maximum: int = V2_MAX_LIMIT) -> int:
    raw = request.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid limit: {raw}") from None
    if value < 1:
        raise ApiError(400, "limit must be at least 1")
    return min(value, maximum)


def _page_of(
    request: Request, ids: list[int], keep: Callable[[int], bool], state: StandinState, *, default_limit: int = 25
) -> tuple[list[int], dict[str, Any], dict[str, str]]:
    """One cursor page of ``ids`` (ascending) that pass ``keep``: the ids, the ``_links`` and the Link header."""
    limit = _limit(request, default=default_limit)
    after = _after(request.get("cursor"))
    chosen: list[int] = []
    more = False
    for page_id in ids[state.page_ids_after(ids, after) :]:
        if not keep(page_id):
            continue
        if len(chosen) == limit:
            more = True  # peeked one beyond: a next page exists, so the last page never links to an empty one
            break
        chosen.append(page_id)
    links: dict[str, Any] = {"base": f"{request.base_url}/wiki"}
    headers: dict[str, str] = {}
    if more and chosen:
        query = [(k, v) for k, v in request.query if k != "cursor"] + [("cursor", _cursor(chosen[-1]))]
        next_link = f"{request.path}?{urlencode(query)}"
        links["next"] = next_link
        headers["Link"] = f'<{next_link}>; rel="next"'
    return chosen, links, headers


def slug(title: str) -> str:
    return quote_plus(title)


def page_json(
    state: StandinState, page: PageRecord, request: Request, *, body_format: str | None, single: bool
) -> dict[str, Any]:
    space = state.spaces[page.space_id]
    data: dict[str, Any] = {
        "id": str(page.id),
        "status": page.status,
        "title": page.title,
        "spaceId": str(page.space_id),
        "parentType": "page",
        "position": None,
        "authorId": page.author_id,
        "ownerId": page.author_id,
        "lastOwnerId": None,
        "createdAt": iso(page.created_at),
        "version": {
            "createdAt": iso(page.version_created_at),
            "message": page.version_message,
            "number": page.version,
            "minorEdit": False,
            "authorId": page.version_author_id,
        },
        "body": {},
        "_links": {
            "webui": f"/spaces/{space.key}/pages/{page.id}/{slug(page.title)}",
            "editui": f"/pages/resumedraft.action?draftId={page.id}",
            "tinyui": f"/x/{base64.urlsafe_b64encode(page.id.to_bytes(4, 'little')).decode().rstrip('=')}",
        },
    }
    if page.parent_id is not None:
        data["parentId"] = str(page.parent_id)
    else:
        del data["parentType"]
    if body_format == "storage":
        data["body"] = {"storage": {"representation": "storage", "value": page.body}}
    if single:
        data["_links"]["base"] = f"{request.base_url}/wiki"
    return data


def space_json(state: StandinState, space_id: int) -> dict[str, Any]:
    space = state.spaces[space_id]
    return {
        "id": str(space.id),
        "key": space.key,
        "name": space.name,
        "type": "global",
        "status": "current",
        "authorId": space.author_id,
        "createdAt": iso(space.created_at),
        "homepageId": str(space.homepage_id),
        "_links": {"webui": f"/spaces/{space.key}"},
    }


def property_json(prop: PropertyRecord, account_id: str) -> dict[str, Any]:
    return {
        "id": str(prop.id),
        "key": prop.key,
        "value": prop.value,
        "version": {
            "createdAt": iso(prop.created_at),
            "message": prop.message,
            "number": prop.version,
            "minorEdit": False,
            "authorId": account_id,
        },
    }


def v1_user_json(user: UserRecord, base_url: str) -> dict[str, Any]:
    return {
        "type": "known",
        "accountId": user.account_id,
        "accountType": user.account_type,
        "email": user.email if user.email_visible else "",
        "publicName": user.display_name,
        "displayName": user.display_name,
        "timeZone": user.time_zone,
        "isExternalCollaborator": False,
        "externalCollaborator": False,
        "profilePicture": {"path": "/wiki/aa-avatar/default.png", "width": 48, "height": 48, "isDefault": True},
        "_links": {"self": f"{base_url}/wiki/rest/api/user?accountId={user.account_id}", "base": f"{base_url}/wiki"},
    }


def v2_user_json(user: UserRecord) -> dict[str, Any]:
    data: dict[str, Any] = {
        "accountId": user.account_id,
        "accountStatus": user.account_status,
        "accountType": user.account_type,
        "displayName": user.display_name,
        "publicName": user.display_name,
        "timeZone": user.time_zone,
        "isExternalCollaborator": False,
        "profilePicture": {"path": "/wiki/aa-avatar/default.png", "isDefault": True},
    }
    if user.email_visible:
        data["email"] = user.email
    return data


def _current_page(state: StandinState, raw_id: str, *, v1: bool = False) -> PageRecord:
    page = state.pages.get(int(raw_id)) if raw_id.isdigit() else None
    if page is None or page.status != "current":
        raise ApiError(404, "Not Found" if not v1 else f"No content found with id: {raw_id}", v1=v1)
    return page


def _body_value(body: Any) -> str:
    """The storage value of a v2 write body: ``{representation, value}`` or ``{"storage": {...}}``."""
    if not isinstance(body, dict):
        raise ApiError(400, "body is required")
    if "storage" in body and isinstance(body["storage"], dict):
        body = body["storage"]
    if body.get("representation") != "storage":
        raise ApiError(400, "The stand-in accepts only the storage representation")
    value = body.get("value")
    if not isinstance(value, str):
        raise ApiError(400, "body.value must be a string")
    try:
        parse_storage(value)
    except StorageError as exc:
        raise ApiError(400, f"Error parsing xhtml: {exc}") from None
    return value


def _json_object(request: Request) -> dict[str, Any]:
    if not isinstance(request.body, dict):
        raise ApiError(400, "A JSON object is required")
    return request.body


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "Title cannot be empty")
    if len(value) > 255:
        raise ApiError(400, "Title cannot be longer than 255 characters")
    return value


# ---------------------------------------------------------------------- v2 spaces


def get_spaces(state: StandinState, request: Request) -> Reply:
    keys = set(request.get_list("keys"))
    ids = {int(i) for i in request.get_list("ids") if i.isdigit()}
    if len(keys) > 250 or len(ids) > 250:
        raise ApiError(400, "At most 250 keys or ids")
    with state.lock:
        all_ids = sorted(state.spaces)
        chosen, links, headers = _page_of(
            request,
            all_ids,
            lambda sid: (not keys or state.spaces[sid].key in keys) and (not ids or sid in ids),
            state,
        )
        results = [space_json(state, sid) for sid in chosen]
    return Reply(200, {"results": results, "_links": links}, headers)


def get_space_by_id(state: StandinState, request: Request) -> Reply:
    raw = request.params["id"]
    with state.lock:
        if not raw.isdigit() or int(raw) not in state.spaces:
            raise ApiError(404, "Not Found")
        return Reply(200, space_json(state, int(raw)))


# ---------------------------------------------------------------------- v2 pages


def get_pages(state: StandinState, request: Request) -> Reply:
    space_ids = request.get_list("space-id")
    if any(not s.isdigit() for s in space_ids):
        raise ApiError(400, "space-id must be numeric")
    wanted_spaces = {int(s) for s in space_ids}
    statuses = set(request.get_list("status")) or {"current", "archived"}
    title = request.get("title")
    page_ids = {int(i) for i in request.get_list("id") if i.isdigit()}
    body_format = request.get("body-format")
    if body_format not in (None, "storage", "atlas_doc_format"):
        raise ApiError(400, f"Invalid body-format: {body_format}")
    with state.lock:
        if title is not None:
            # Titles are indexed per space, so the portal's "page by title" look-up stays O(1) at 10,000 pages.
            candidates = (
                sorted(
                    pid
                    for (sid, t), pid in state.titles.items()
                    if t == title and (not wanted_spaces or sid in wanted_spaces)
                )
                if not wanted_spaces
                else sorted(state.titles[(sid, title)] for sid in wanted_spaces if (sid, title) in state.titles)
            )
        elif len(wanted_spaces) == 1:
            candidates = state.space_page_ids.get(next(iter(wanted_spaces)), [])
        else:
            candidates = state.page_ids

        def keep(pid: int) -> bool:
            page = state.pages[pid]
            return (
                page.status in statuses
                and (not wanted_spaces or page.space_id in wanted_spaces)
                and (not page_ids or pid in page_ids)
            )

        chosen, links, headers = _page_of(request, candidates, keep, state)
        results = [page_json(state, state.pages[pid], request, body_format=body_format, single=False) for pid in chosen]
    return Reply(200, {"results": results, "_links": links}, headers)


def get_page_by_id(state: StandinState, request: Request) -> Reply:
    body_format = request.get("body-format")
    if body_format not in (None, "storage", "atlas_doc_format", "view", "export_view", "anonymous_export_view"):
        raise ApiError(400, f"Invalid body-format: {body_format}")
    with state.lock:
        page = _current_page(state, request.params["id"])
        return Reply(200, page_json(state, page, request, body_format=body_format, single=True))


def create_page(state: StandinState, request: Request) -> Reply:
    data = _json_object(request)
    space_id = str(data.get("spaceId") or "")
    title = _title(data.get("title"))
    value = _body_value(data.get("body"))  # parsed outside the lock: a 5 MB body must not stall other clients
    if data.get("status", "current") != "current":
        raise ApiError(400, "The stand-in creates only current pages")
    parent_raw = data.get("parentId")
    with state.lock:
        if not space_id.isdigit() or int(space_id) not in state.spaces:
            raise ApiError(404, "Not Found")
        space = state.spaces[int(space_id)]
        parent_id = space.homepage_id
        if parent_raw is not None:
            parent = state.pages.get(int(parent_raw)) if str(parent_raw).isdigit() else None
            if parent is None or parent.status != "current" or parent.space_id != space.id:
                raise ApiError(404, "Not Found")
            parent_id = parent.id
        if (space.id, title) in state.titles:
            raise ApiError(400, TITLE_EXISTS)
        page = state.add_page(
            space_id=space.id, title=title, body=value, parent_id=parent_id, author_id=request.account_id
        )
        return Reply(200, page_json(state, page, request, body_format="storage", single=True))


def update_page(state: StandinState, request: Request) -> Reply:
    data = _json_object(request)
    missing = [name for name in ("id", "status", "title", "body", "version") if name not in data]
    if missing:
        raise ApiError(400, f"Missing required fields: {', '.join(missing)}")
    if str(data["id"]) != request.params["id"]:
        raise ApiError(400, "The id in the body does not match the id in the path")
    if data["status"] != "current":
        raise ApiError(400, "The stand-in updates only current pages")
    title = _title(data["title"])
    value = _body_value(data["body"])
    version = data["version"]
    if not isinstance(version, dict) or not isinstance(version.get("number"), int):
        raise ApiError(400, "version.number is required")
    message = version.get("message") or ""
    with state.lock:
        page = _current_page(state, request.params["id"])
        if version["number"] != page.version + 1:
            raise ApiError(409, f"Version must be incremented on update. Current version is: {page.version}")
        holder = state.titles.get((page.space_id, title))
        if holder is not None and holder != page.id:
            raise ApiError(400, TITLE_EXISTS)
        parent_raw = data.get("parentId")
        if parent_raw is not None:
            parent = state.pages.get(int(parent_raw)) if str(parent_raw).isdigit() else None
            if parent is None or parent.status != "current" or parent.space_id != page.space_id or parent.id == page.id:
                raise ApiError(404, "Not Found")
            page.parent_id = parent.id
        state.retitle(page, title)
        page.body = value
        page.version += 1
        state.page_versions_made += 1
        page.version_message = message
        page.version_created_at = now()
        page.version_author_id = request.account_id
        return Reply(200, page_json(state, page, request, body_format="storage", single=True))


def delete_page(state: StandinState, request: Request) -> Reply:
    with state.lock:
        page = _current_page(state, request.params["id"])
        state.trash(page)
    return Reply(204)


def get_page_labels(state: StandinState, request: Request) -> Reply:
    with state.lock:
        page = _current_page(state, request.params["id"])
        by_id = dict(page.labels)
        chosen, links, headers = _page_of(request, sorted(by_id), lambda _: True, state)
        results = [{"id": str(lid), "name": by_id[lid], "prefix": "global"} for lid in chosen]
    return Reply(200, {"results": results, "_links": links}, headers)


# ---------------------------------------------------------------------- v2 content properties


def get_page_properties(state: StandinState, request: Request) -> Reply:
    key = request.get("key")
    with state.lock:
        page = _current_page(state, request.params["page-id"])
        by_id = {prop.id: prop for prop in page.properties.values()}
        chosen, links, headers = _page_of(
            request, sorted(by_id), lambda pid: key is None or by_id[pid].key == key, state
        )
        results = [property_json(by_id[pid], request.account_id) for pid in chosen]
    return Reply(200, {"results": results, "_links": links}, headers)


def create_page_property(state: StandinState, request: Request) -> Reply:
    data = _json_object(request)
    key = data.get("key")
    if not isinstance(key, str) or not key or len(key) > 255:
        raise ApiError(400, "key must be 1 to 255 characters")
    if "value" not in data:
        raise ApiError(400, "value is required")
    with state.lock:
        page = _current_page(state, request.params["page-id"])
        if key in page.properties:
            raise ApiError(400, f"A content property with key '{key}' already exists on this content")
        prop = PropertyRecord(id=state.new_id(), key=key, value=data["value"], version=1, created_at=now())
        page.properties[key] = prop
        return Reply(200, property_json(prop, request.account_id))


def _property(state: StandinState, request: Request) -> tuple[PageRecord, PropertyRecord]:
    page = _current_page(state, request.params["page-id"])
    raw = request.params["property-id"]
    prop = next((p for p in page.properties.values() if str(p.id) == raw), None)
    if prop is None:
        raise ApiError(404, "Not Found")
    return page, prop


def get_page_property_by_id(state: StandinState, request: Request) -> Reply:
    with state.lock:
        _, prop = _property(state, request)
        return Reply(200, property_json(prop, request.account_id))


def update_page_property(state: StandinState, request: Request) -> Reply:
    data = _json_object(request)
    version = data.get("version")
    if not isinstance(version, dict) or not isinstance(version.get("number"), int):
        raise ApiError(400, "version.number is required")
    if "value" not in data:
        raise ApiError(400, "value is required")
    with state.lock:
        page, prop = _property(state, request)
        if data.get("key", prop.key) != prop.key:
            raise ApiError(400, "The key of a content property cannot be changed")
        if version["number"] != prop.version + 1:
            raise ApiError(409, f"Version must be incremented on update. Current version is: {prop.version}")
        prop.value = data["value"]
        prop.version += 1
        prop.message = version.get("message") or ""
        prop.created_at = now()
        return Reply(200, property_json(prop, request.account_id))


# ---------------------------------------------------------------------- attachments: upload, download in v1; list, delete in v2


def attachment_download_path(attachment: AttachmentRecord) -> str:
    """Where the file itself is served, relative to the /wiki context (as v1's ``_links.download``)."""
    return f"/download/attachments/{attachment.page_id}/{quote(attachment.title)}?version={attachment.version}&api=v2"


def attachment_v1_json(state: StandinState, attachment: AttachmentRecord, request: Request) -> dict[str, Any]:
    page = state.pages[attachment.page_id]
    base = f"{request.base_url}/wiki"
    author = state.users.get(attachment.version_author_id) or state.users[SERVICE_ACCOUNT_ID]
    preview = quote(f"/{page.id}/{attachment.id}/{attachment.title}", safe="")
    return {
        "id": f"att{attachment.id}",
        "type": "attachment",
        "status": attachment.status,
        "title": attachment.title,
        "version": {
            "by": v1_user_json(author, request.base_url),
            "when": iso(attachment.version_created_at),
            "friendlyWhen": "just a moment ago",
            "message": attachment.comment,
            "number": attachment.version,
            "minorEdit": True,
            "contentTypeModified": False,
            "_expandable": {"collaborators": "", "content": f"/rest/api/content/att{attachment.id}"},
            "_links": {"self": f"{base}/rest/api/content/att{attachment.id}/version/{attachment.version}"},
        },
        "container": {
            "id": str(page.id),
            "type": "page",
            "status": page.status,
            "title": page.title,
            "_links": {"self": f"{base}/rest/api/content/{page.id}"},
        },
        "macroRenderedOutput": {},
        "metadata": {
            "comment": attachment.comment,
            "mediaType": attachment.media_type,
            "_expandable": {"currentuser": "", "properties": "", "frontend": "", "editorHtml": ""},
        },
        "extensions": {
            "mediaType": attachment.media_type,
            "fileSize": len(attachment.data),
            "comment": attachment.comment,
            "fileId": attachment.file_id,
            "collectionName": f"contentId-{page.id}",
        },
        "_expandable": {"childTypes": "", "operations": "", "schedulePublishDate": "", "children": "",
                        "restrictions": "", "history": f"/rest/api/content/att{attachment.id}/history",
                        "ancestors": "", "body": "", "descendants": "", "space": ""},
        "_links": {
            "webui": f"/pages/viewpageattachments.action?pageId={page.id}&preview={preview}",
            "self": f"{base}/rest/api/content/att{attachment.id}",
            "download": attachment_download_path(attachment),
        },
    }


def attachment_v2_json(attachment: AttachmentRecord) -> dict[str, Any]:
    preview = quote(f"/{attachment.page_id}/{attachment.id}/{attachment.title}", safe="")
    return {
        "id": f"att{attachment.id}",
        "status": attachment.status,
        "title": attachment.title,
        "createdAt": iso(attachment.created_at),
        "pageId": str(attachment.page_id),
        "mediaType": attachment.media_type,
        "mediaTypeDescription": attachment.media_type,
        "comment": attachment.comment,
        "fileId": attachment.file_id,
        "fileSize": len(attachment.data),
        "webuiLink": f"/pages/viewpageattachments.action?pageId={attachment.page_id}&preview={preview}",
        "downloadLink": attachment_download_path(attachment),
        "version": {
            "createdAt": iso(attachment.version_created_at),
            "message": attachment.comment,
            "number": attachment.version,
            "minorEdit": True,
            "authorId": attachment.version_author_id,
        },
        "_links": {
            "webui": f"/pages/viewpageattachments.action?pageId={attachment.page_id}&preview={preview}",
            "download": attachment_download_path(attachment),
        },
    }


def _uploads(request: Request) -> tuple[list[FormPart], str]:
    """The files of an attachment upload and its comment, after the checks Confluence makes."""
    if request.headers.get("x-atlassian-token", "").lower() != "no-check":
        raise ApiError(403, "XSRF check failed", v1=True)
    if not isinstance(request.body, list):
        raise ApiError(400, "An attachment upload is a multipart/form-data request", v1=True)
    parts: list[FormPart] = request.body
    files = [p for p in parts if p.name == "file"]
    if not files or any(not p.filename for p in files):
        raise ApiError(400, "The request needs at least one 'file' part with a file name", v1=True)
    if not any(p.name == "minorEdit" for p in parts):
        raise ApiError(400, "minorEdit is required", v1=True)
    comment = next((p.data.decode("utf-8", "replace") for p in parts if p.name == "comment"), "")
    titles = [p.filename for p in files]
    if len(set(titles)) != len(titles):
        raise ApiError(400, "The same file name twice in one upload", v1=True)
    return files, comment


def _store_upload(
    state: StandinState, page: PageRecord, part: FormPart, comment: str, account_id: str, *, replace: bool
) -> AttachmentRecord:
    assert part.filename is not None
    media_type = part.content_type
    if media_type in ("", "application/octet-stream"):
        # Confluence names the type from the file name when the client does not.
        media_type = mimetypes.guess_type(part.filename)[0] or "application/octet-stream"
    existing = next(
        (a for a in page.attachments.values() if a.title == part.filename and a.status == "current"), None
    )
    moment = now()
    if existing is not None:
        if not replace:
            raise ApiError(
                400,
                f"Cannot add a new attachment with same file name as an existing attachment: {part.filename}",
                v1=True,
            )
        existing.data = part.data
        existing.media_type = media_type
        existing.comment = comment
        existing.version += 1
        existing.version_created_at = moment
        existing.version_author_id = account_id
        existing.file_id = str(uuid.uuid4())
        state.attachment_versions_made += 1
        return existing
    attachment = AttachmentRecord(
        id=state.new_id(),
        page_id=page.id,
        title=part.filename,
        media_type=media_type,
        data=part.data,
        comment=comment,
        created_at=moment,
        file_id=str(uuid.uuid4()),
        version_created_at=moment,
        version_author_id=account_id,
    )
    page.attachments[attachment.id] = attachment
    state.attachment_index[attachment.id] = attachment
    state.attachment_versions_made += 1
    return attachment


def _upload(state: StandinState, request: Request, *, replace: bool) -> Reply:
    files, comment = _uploads(request)
    with state.lock:
        page = _current_page(state, request.params["id"], v1=True)
        # All or nothing: a refused name leaves the page's other files as they were.
        if not replace:
            taken = {a.title for a in page.attachments.values() if a.status == "current"}
            clash = next((p.filename for p in files if p.filename in taken), None)
            if clash is not None:
                raise ApiError(
                    400, f"Cannot add a new attachment with same file name as an existing attachment: {clash}", v1=True
                )
        stored = [_store_upload(state, page, part, comment, request.account_id, replace=replace) for part in files]
        results = [attachment_v1_json(state, a, request) for a in stored]
    base = f"{request.base_url}/wiki"
    return Reply(
        200,
        {
            "results": results,
            "start": 0,
            "limit": 50,
            "size": len(results),
            "_links": {"base": base, "context": "/wiki", "self": f"{base}/rest/api/content/{page.id}/child/attachment"},
        },
    )


def create_or_update_attachments(state: StandinState, request: Request) -> Reply:
    return _upload(state, request, replace=True)


def create_attachment(state: StandinState, request: Request) -> Reply:
    return _upload(state, request, replace=False)


def download_attachment(state: StandinState, request: Request) -> Reply:
    with state.lock:
        page = _current_page(state, request.params["id"], v1=True)
        attachment = state.attachment_by_id(request.params["attachmentId"])
        if attachment is None or attachment.page_id != page.id or attachment.status != "current":
            raise ApiError(404, f"No attachment found with id: {request.params['attachmentId']}", v1=True)
        location = f"{request.base_url}/wiki{attachment_download_path(attachment)}"
    return Reply(302, None, {"Location": location})


def get_page_attachments(state: StandinState, request: Request) -> Reply:
    statuses = set(request.get_list("status")) or {"current", "archived"}
    media_type = request.get("mediaType")
    filename = request.get("filename")
    if request.get("sort") not in (None, "created-date"):
        raise ApiError(400, "The stand-in sorts attachments only by created-date")
    with state.lock:
        page = _current_page(state, request.params["id"])
        by_id = page.attachments

        def keep(aid: int) -> bool:
            attachment = by_id[aid]
            return (
                attachment.status in statuses
                and (media_type is None or attachment.media_type == media_type)
                and (filename is None or attachment.title == filename)
            )

        # 50 is the documented default of this operation (25 elsewhere).
        chosen, links, headers = _page_of(request, sorted(by_id), keep, state, default_limit=50)
        results = [attachment_v2_json(by_id[aid]) for aid in chosen]
    return Reply(200, {"results": results, "_links": links}, headers)


def delete_attachment(state: StandinState, request: Request) -> Reply:
    purge = (request.get("purge") or "false").lower()
    if purge not in ("true", "false"):
        raise ApiError(400, f"Invalid purge: {purge}")
    with state.lock:
        attachment = state.attachment_by_id(request.params["id"])
        if attachment is None or attachment.status == "purged":
            raise ApiError(404, "Not Found")
        if purge == "true":
            if attachment.status != "trashed":
                raise ApiError(400, "Only a trashed attachment can be purged")
            del state.pages[attachment.page_id].attachments[attachment.id]
            del state.attachment_index[attachment.id]
            attachment.status = "purged"
        else:
            if attachment.status != "current":
                raise ApiError(404, "Not Found")
            attachment.status = "trashed"
            state.attachments_deleted += 1
    return Reply(204)


# ---------------------------------------------------------------------- v2 users


def users_bulk(state: StandinState, request: Request) -> Reply:
    data = _json_object(request)
    ids = data.get("accountIds")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 250 or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "accountIds must be a list of 1 to 250 account ids")
    with state.lock:
        results = [v2_user_json(state.users[i]) for i in dict.fromkeys(ids) if i in state.users]
    return Reply(200, {"results": results, "_links": {"base": f"{request.base_url}/wiki"}})


# ---------------------------------------------------------------------- v1


def _label_names(body: Any) -> list[str]:
    items: Iterable[Any] = body if isinstance(body, list) else [body]
    names: list[str] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ApiError(400, "Each label needs a prefix and a name", v1=True)
        if item.get("prefix", "global") not in ("global", "my", "team"):
            raise ApiError(400, f"Invalid label prefix: {item.get('prefix')}", v1=True)
        name = item["name"].strip().lower()  # Confluence stores labels lower-cased
        if not name or len(name) > 255 or LABEL_FORBIDDEN & set(name):
            raise ApiError(400, f"Invalid label name: {item['name']!r}", v1=True)
        names.append(name)
    return names


def add_labels_to_content(state: StandinState, request: Request) -> Reply:
    names = _label_names(request.body)
    with state.lock:
        page = _current_page(state, request.params["id"], v1=True)
        present = {name for _, name in page.labels}
        for name in names:
            if name not in present:
                page.labels.append((state.new_label_id(), name))
                present.add(name)
        results = [{"prefix": "global", "name": name, "id": str(lid), "label": name} for lid, name in page.labels]
    base = f"{request.base_url}/wiki"
    return Reply(
        200,
        {
            "results": results,
            "start": 0,
            "limit": 200,
            "size": len(results),
            "_links": {"base": base, "context": "/wiki", "self": f"{base}/rest/api/content/{page.id}/label"},
        },
    )


ARCHIVE_LIMIT = 300  # the most pages one archive request may name


def archive_pages(state: StandinState, request: Request) -> Reply:
    """v1 archive: a long task in Confluence; the stand-in archives at once and answers with the task's handle."""
    data = request.body
    pages = data.get("pages") if isinstance(data, dict) else None
    if not isinstance(pages, list) or not pages or not all(isinstance(p, dict) and isinstance(p.get("id"), int) for p in pages):
        raise ApiError(400, "pages must be a list of {id} objects with integer ids", v1=True)
    if len(pages) > ARCHIVE_LIMIT:
        raise ApiError(400, f"At most {ARCHIVE_LIMIT} pages can be archived at once", v1=True)
    with state.lock:
        chosen = []
        for item in pages:
            page = state.pages.get(item["id"])
            if page is None or page.status != "current":
                # Atlassian: every id must resolve to a page that is not already archived.
                raise ApiError(400, f"Content {item['id']} does not resolve to a current page", v1=True)
            chosen.append(page)
        for page in chosen:
            state.archive(page)
        task_id = str(state.new_id())
    return Reply(202, {"id": task_id, "links": {"status": f"/wiki/rest/api/longtask/{task_id}"}})


_CQL_TYPE_USER = re.compile(r"""^\s*type\s*=\s*["']?user["']?\s*$""")


def search_user(state: StandinState, request: Request) -> Reply:
    cql = request.get("cql")
    if not cql or not _CQL_TYPE_USER.match(cql):
        raise ApiError(400, "The stand-in understands only cql=type=user", v1=True)
    try:
        start = int(request.get("start") or 0)
    except ValueError:
        raise ApiError(400, "start must be an integer", v1=True) from None
    limit = _limit(request, default=25, maximum=V1_USER_SEARCH_MAX_LIMIT)
    if start < 0:
        raise ApiError(400, "start must not be negative", v1=True)
    with state.lock:
        total = len(state.user_order)
        chosen = [state.users[i] for i in state.user_order[start : start + limit]]
        moment = iso(now())
        results = [
            {
                "user": v1_user_json(user, request.base_url),
                "title": user.display_name,
                "excerpt": "",
                "url": f"/people/{user.account_id}",
                "breadcrumbs": [],
                "entityType": "user",
                "iconCssClass": "aui-icon content-type-profile",
                "lastModified": moment,
                "score": 0.0,
            }
            for user in chosen
        ]
    base = f"{request.base_url}/wiki"
    links: dict[str, Any] = {
        "base": base,
        "context": "/wiki",
        "self": f"{base}/rest/api/search/user?{urlencode({'cql': cql})}",
    }
    if start + len(results) < total:
        # v1 links are relative to the /wiki context, unlike v2's.
        links["next"] = "/rest/api/search/user?" + urlencode(
            {"cql": cql, "start": start + len(results), "limit": limit}
        )
    return Reply(
        200,
        {
            "results": results,
            "start": start,
            "limit": limit,
            "size": len(results),
            "totalSize": total,
            "cqlQuery": cql,
            "searchDuration": 1,
            "_links": links,
        },
    )


def _analytics(state: StandinState, request: Request, attribute: str) -> Reply:
    with state.lock:
        page = _current_page(state, request.params["contentId"], v1=True)
        return Reply(200, {"id": page.id, "count": getattr(page, attribute)})


def get_views(state: StandinState, request: Request) -> Reply:
    return _analytics(state, request, "views")


def get_viewers(state: StandinState, request: Request) -> Reply:
    return _analytics(state, request, "viewers")


def get_current_user(state: StandinState, request: Request) -> Reply:
    with state.lock:
        return Reply(200, v1_user_json(state.users[request.account_id], request.base_url))


def get_system_info(state: StandinState, request: Request) -> Reply:
    return Reply(
        200,
        {
            "cloudId": "00000000-0000-4000-8000-standin00000",
            "commitHash": "standin",
            "baseUrl": f"{request.base_url}/wiki",
            "edition": "standard",
            "siteTitle": "Confluence stand-in",
            "defaultLocale": "en_GB",
            "defaultTimeZone": "UTC",
        },
    )


def content_gone(state: StandinState, request: Request) -> Reply:
    # Newer Cloud sites answer the removed v1 content endpoints with 410; the client must never depend on them.
    raise ApiError(410, "This endpoint has been removed: use /wiki/api/v2/pages", v1=True)


Handler = Callable[[StandinState, Request], Reply]

# (method, path template, operationId, handler); v1 templates are full paths, v2 ones are under /wiki/api/v2.
ROUTES: list[tuple[str, str, str, Handler]] = [
    ("GET", V2 + "/spaces", "getSpaces", get_spaces),
    ("GET", V2 + "/spaces/{id}", "getSpaceById", get_space_by_id),
    ("GET", V2 + "/pages", "getPages", get_pages),
    ("POST", V2 + "/pages", "createPage", create_page),
    ("GET", V2 + "/pages/{id}", "getPageById", get_page_by_id),
    ("PUT", V2 + "/pages/{id}", "updatePage", update_page),
    ("DELETE", V2 + "/pages/{id}", "deletePage", delete_page),
    ("GET", V2 + "/pages/{id}/labels", "getPageLabels", get_page_labels),
    ("GET", V2 + "/pages/{page-id}/properties", "getPageContentProperties", get_page_properties),
    ("POST", V2 + "/pages/{page-id}/properties", "createPageProperty", create_page_property),
    ("GET", V2 + "/pages/{page-id}/properties/{property-id}", "getPageContentPropertiesById", get_page_property_by_id),
    ("PUT", V2 + "/pages/{page-id}/properties/{property-id}", "updatePagePropertyById", update_page_property),
    ("POST", V2 + "/users-bulk", "createBulkUserLookup", users_bulk),
    ("GET", V2 + "/pages/{id}/attachments", "getPageAttachments", get_page_attachments),
    ("DELETE", V2 + "/attachments/{id}", "deleteAttachment", delete_attachment),
    ("PUT", V1 + "/content/{id}/child/attachment", "createOrUpdateAttachments", create_or_update_attachments),
    ("POST", V1 + "/content/{id}/child/attachment", "createAttachment", create_attachment),
    (
        "GET",
        V1 + "/content/{id}/child/attachment/{attachmentId}/download",
        "downloadAttatchment",  # sic: Atlassian's operationId
        download_attachment,
    ),
    ("POST", V1 + "/content/{id}/label", "addLabelsToContent", add_labels_to_content),
    ("POST", V1 + "/content/archive", "archivePages", archive_pages),
    ("GET", V1 + "/search/user", "searchUser", search_user),
    ("GET", V1 + "/analytics/content/{contentId}/views", "getViews", get_views),
    ("GET", V1 + "/analytics/content/{contentId}/viewers", "getViewers", get_viewers),
    ("GET", V1 + "/user/current", "getCurrentUser", get_current_user),
    ("GET", V1 + "/settings/systemInfo", "getSystemInfo", get_system_info),
    ("GET", V1 + "/content", "removedV1Content", content_gone),
    ("POST", V1 + "/content", "removedV1Content", content_gone),
    ("GET", V1 + "/content/{id}", "removedV1Content", content_gone),
    ("PUT", V1 + "/content/{id}", "removedV1Content", content_gone),
]

WRITE_OPERATIONS = {
    "createPage",
    "updatePage",
    "deletePage",
    "createPageProperty",
    "updatePagePropertyById",
    "addLabelsToContent",
    "createOrUpdateAttachments",
    "createAttachment",
    "deleteAttachment",
    "archivePages",
}


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{([a-zA-Z-]+)\}", lambda m: f"(?P<{m.group(1).replace('-', '_')}>[^/]+)", template)
    return re.compile(f"^{pattern}/?$")


_COMPILED = [(method, _compile(template), template, op, handler) for method, template, op, handler in ROUTES]


def route(method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None | str:
    """The operation for a request: (operationId, handler, path params); "method" when only the method is wrong;
    None when no operation has this path."""
    path_known = False
    for route_method, pattern, template, op, handler in _COMPILED:
        match = pattern.match(path)
        if not match:
            continue
        path_known = True
        if route_method == method:
            names = re.findall(r"\{([a-zA-Z-]+)\}", template)
            return op, handler, {name: match.group(name.replace("-", "_")) for name in names}
    return "method" if path_known else None


def is_v1(path: str) -> bool:
    return path.startswith(V1)

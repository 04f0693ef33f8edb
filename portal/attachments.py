"""The attachments the portal puts on a page, one set of rules for every path that writes pages (an import, a
publication): how files are named on the page, their media type, and how a page's attachments are brought in line
with what its Markdown references.

The portal marks every file it uploads with ``sha256:<hex>`` in the attachment's comment. That mark is how a later
write knows a file is unchanged (same hash: not uploaded again) and that it is the portal's to remove once the page no
longer references it; a file a person attached (no mark) is never removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import posixpath
import re
from dataclasses import dataclass

from confluence import errors as cf
from confluence.client import ConfluenceClient
from confluence.converter import GeneratedAttachment

SHA_COMMENT = "sha256:"

# The built-in table only: the system's /etc/mime.types differs between machines, and the media type of an
# attachment must not change because the portal moved to another host.
_MEDIA_TYPES = mimetypes.MimeTypes(filenames=())
_MEDIA_TYPES.add_type("image/svg+xml", ".svg")
_MEDIA_TYPES.add_type("image/webp", ".webp")
_MEDIA_TYPES.add_type("application/vnd.jgraph.mxfile", ".drawio")

# Characters Windows refuses in file names, and those that break a download URL or a multipart header when not
# escaped the same way by every party: replaced, so a name means the same to the client, Confluence and a reader.
_UNSAFE_IN_NAME = re.compile(r'[\\/:*?"<>|#%&\x00-\x1f\x7f]')


@dataclass(frozen=True)
class PageAttachment:
    name: str
    data: bytes
    media_type: str
    sha256: str

    @classmethod
    def of(cls, name: str, data: bytes, media_type: str | None = None) -> PageAttachment:
        return cls(name, data, media_type or media_type_of(name), hashlib.sha256(data).hexdigest())

    @classmethod
    def generated(cls, item: GeneratedAttachment) -> PageAttachment:
        """A diagram the converter rendered."""
        return cls.of(item.name, item.data, item.media_type)


@dataclass
class AttachmentCounts:
    uploaded: int = 0
    unchanged: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"uploaded": self.uploaded, "unchanged": self.unchanged, "removed": self.removed}


def media_type_of(name: str) -> str:
    return _MEDIA_TYPES.guess_type(name, strict=False)[0] or "application/octet-stream"


def attachment_names(source_dir: str, files: list[str]) -> dict[str, str]:
    """A name per referenced file (paths relative to the bundle or upload root), unique on the page: the base name,
    unless two files of the page share it; then each of those is named after its path from the page's folder
    (``source_dir``; "img/a.png" -> "img_a.png", ".." -> "PAR"), as md2conf does, so neither depends on which of them
    was referenced first. Characters that are unsafe in a file name or URL become "_"."""
    base_counts: dict[str, int] = {}
    for path in files:
        base = posixpath.basename(path).casefold()
        base_counts[base] = base_counts.get(base, 0) + 1
    names: dict[str, str] = {}
    taken: set[str] = set()
    for path in files:
        name = posixpath.basename(path)
        if base_counts[name.casefold()] > 1:
            relative = posixpath.relpath(path, source_dir or ".")
            name = "_".join("PAR" if part == ".." else part for part in relative.split("/"))
        name = _UNSAFE_IN_NAME.sub("_", name)
        stem, dot, suffix = name.rpartition(".")
        candidate, counter = name, 2
        while candidate.casefold() in taken:
            candidate = f"{stem}-{counter}.{suffix}" if dot else f"{name}-{counter}"
            counter += 1
        taken.add(candidate.casefold())
        names[path] = candidate
    return names


def attachments_listed(*, client: ConfluenceClient, page_id: str) -> dict[str, dict[str, str]]:
    """A page's attachments as Confluence lists them (name -> id and the hash the portal wrote into the comment when
    it uploaded the file; "" for a file someone else attached)."""
    listed = {}
    for attachment in client.attachments(page_id):
        comment = attachment.comment or ""
        sha = comment[len(SHA_COMMENT):] if comment.startswith(SHA_COMMENT) else ""
        listed[attachment.title] = {"id": attachment.id, "sha256": sha}
    return listed


def attachments_sync(
    *,
    client: ConfluenceClient,
    page_id: str,
    wanted: list[PageAttachment],
    known: dict[str, dict[str, str]],
    listed: bool,
    counts: AttachmentCounts,
    keep: frozenset[str] = frozenset(),
) -> dict[str, dict[str, str]]:
    """Upload what changed, leave what did not, remove what the portal uploaded and the page no longer uses.

    ``known``: the page's attachments as last recorded (``listed=False``: the portal's own record, every entry its
    upload) or as Confluence lists them (``listed=True``: entries without a hash were attached by a person and stay).
    ``keep``: names the page still references though no file came for them (a single-page import that did not resend
    an image): not removed. Returns the page's attachments as the portal now knows them; ``counts`` is added to."""
    current = dict(known or {})
    by_name = {item.name: item for item in wanted}
    for name, item in by_name.items():
        if current.get(name, {}).get("sha256") == item.sha256:
            counts.unchanged += 1
            continue
        uploaded = client.upload_attachment(
            page_id, filename=name, data=item.data, media_type=item.media_type, comment=SHA_COMMENT + item.sha256
        )
        current[name] = {"id": uploaded.id, "sha256": item.sha256}
        counts.uploaded += 1
    for name in sorted(set(current) - set(by_name) - keep):
        if listed and not current[name].get("sha256"):
            continue  # attached by a person, not by the portal: not ours to remove
        with contextlib.suppress(cf.NotFound):  # already gone
            client.delete_attachment(current[name]["id"])
        del current[name]
        counts.removed += 1
    return current


def attachments_foreseen(*, wanted: list[PageAttachment], known: dict[str, dict[str, str]]) -> AttachmentCounts:
    """What ``attachments_sync`` would do (a dry run): nothing is sent."""
    hashes = {item.name: item.sha256 for item in wanted}
    unchanged = sum(1 for name, sha in hashes.items() if known.get(name, {}).get("sha256") == sha)
    removed = sum(1 for name, item in known.items() if name not in hashes and item.get("sha256"))
    return AttachmentCounts(uploaded=len(hashes) - unchanged, unchanged=unchanged, removed=removed)

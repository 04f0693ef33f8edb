"""Reading an uploaded bundle (a zip or tar.gz of Markdown and the files it references) without trusting it.

The archive comes from a client, so nothing in it is believed until measured: sizes are counted while decompressing
(headers can lie), paths are checked before they are used as keys, and links, devices and anything else that is not
a plain file are refused. What comes out is a plain ``{path: bytes}`` map that never touches the disk.
"""

from __future__ import annotations

import hashlib
import io
import re
import stat
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from portal.errors import PortalError

MARKDOWN_SUFFIXES = (".md", ".markdown")
CHUNK = 64 * 1024
# macOS leaves these behind when it zips or tars a folder; they are never part of anyone's documentation.
IGNORED_FOLDERS = {"__MACOSX"}
IGNORED_NAMES = {".DS_Store", "Thumbs.db"}
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class BundleLimits:
    max_files: int = 2000
    max_total_bytes: int = 200 * 2**20
    max_file_bytes: int = 50 * 2**20
    max_ratio: float = 100.0
    # Below this much content the ratio is not checked: a small file of repeated lines compresses far beyond 100:1
    # and harms nobody; a bomb has to get past this size to do any harm.
    ratio_floor_bytes: int = 2**20


class BundleError(PortalError):
    """A bundle refused before any work starts. ``code`` is "bundle_invalid" (400) or "bundle_too_large" (413);
    ``path`` is the offending entry when there is one, and the message names it too."""

    def __init__(self, code: str, message: str, *, path: str | None = None) -> None:
        status = 413 if code == "bundle_too_large" else 400
        super().__init__(message, code=code, field="bundle", status=status, extra={"path": path} if path else None)
        self.path = path


@dataclass(frozen=True)
class Bundle:
    files: dict[str, bytes]  # normalised posix paths relative to the archive's root, in archive order
    digest: str  # sha256 over the sorted (path, content) pairs: equal for equal content whatever the archive format

    @property
    def markdown_paths(self) -> list[str]:
        return sorted(p for p in self.files if p.lower().endswith(MARKDOWN_SUFFIXES))


def read_bundle(data: bytes | IO[bytes], *, limits: BundleLimits) -> Bundle:
    """The files of a zip, tar.gz or tar archive (told apart by their content, not their name).

    Raises BundleError: ``bundle_invalid`` for something that is not such an archive, a damaged one, a path that
    leaves the root (``..``, absolute), a link, device or other special entry, an encrypted entry, the same path twice
    (also when only the case differs), a path that is both a file and a folder, or no Markdown file;
    ``bundle_too_large`` for more files, more bytes in all or in one file, or a higher compression ratio than
    ``limits`` allow."""
    stream = _seekable(data)
    stream.seek(0, io.SEEK_END)
    archive_size = stream.tell()
    stream.seek(0)
    head = stream.read(262)
    stream.seek(0)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        entries = _zip_entries(stream)
    elif head.startswith(b"\x1f\x8b"):
        entries = _tar_entries(stream, "r:gz")
    elif head[257:262] == b"ustar":
        entries = _tar_entries(stream, "r:")
    else:
        raise BundleError("bundle_invalid", "The bundle is not a zip or tar.gz archive.")
    return _collect(entries, limits=limits, archive_size=max(archive_size, 1))


# ---------------------------------------------------------------------- one entry at a time


@dataclass
class _Entry:
    name: str  # as the archive spells it
    kind: str  # "file", "dir", or what makes it refused ("symbolic link", "device", ...)
    compressed_size: int | None  # zip only; the number of bytes the entry's data takes in the archive
    chunks: Iterator[bytes] | None = None


def _seekable(data: bytes | IO[bytes]) -> IO[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(data))
    if data.seekable():
        return data
    return io.BytesIO(data.read())


_DAMAGED = (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, zlib.error)


def _read_chunks(handle: IO[bytes], name: str) -> Iterator[bytes]:
    with handle:
        while True:
            try:
                chunk = handle.read(CHUNK)
            except _DAMAGED as exc:  # a CRC mismatch, truncated data, a broken deflate stream
                raise BundleError("bundle_invalid", f"“{name}” is damaged in the archive: {exc}.", path=name) from None
            if not chunk:
                return
            yield chunk


def _zip_entries(stream: IO[bytes]) -> Iterator[_Entry]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleError("bundle_invalid", f"The bundle is a damaged zip archive: {exc}.") from None
    with archive:
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if info.is_dir():
                yield _Entry(info.filename, "dir", None)
            elif info.flag_bits & 0x1:
                yield _Entry(info.filename, "encrypted file", None)
            elif mode and not stat.S_ISREG(mode) and stat.S_IFMT(mode):
                yield _Entry(info.filename, _special_kind(mode), None)
            else:
                try:
                    handle = archive.open(info)
                except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError) as exc:
                    raise BundleError(
                        "bundle_invalid", f"“{info.filename}” cannot be read: {exc}.", path=info.filename
                    ) from None
                yield _Entry(info.filename, "file", info.compress_size, _read_chunks(handle, info.filename))


def _special_kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def _tar_entries(stream: IO[bytes], mode: str) -> Iterator[_Entry]:
    try:
        archive = tarfile.open(fileobj=stream, mode=mode)  # noqa: SIM115 - closed below, after the generator ends
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleError("bundle_invalid", f"The bundle is not a zip or tar.gz archive ({exc}).") from None
    with archive:
        try:
            for member in archive:
                if member.isdir():
                    yield _Entry(member.name, "dir", None)
                elif member.issym():
                    yield _Entry(member.name, "symbolic link", None)
                elif member.islnk():
                    yield _Entry(member.name, "hard link", None)
                elif member.ischr() or member.isblk():
                    yield _Entry(member.name, "device", None)
                elif member.isfifo():
                    yield _Entry(member.name, "named pipe", None)
                elif member.issparse() or not member.isreg():
                    yield _Entry(member.name, "special file", None)
                else:
                    handle = archive.extractfile(member)
                    assert handle is not None  # a regular member always has data
                    yield _Entry(member.name, "file", None, _read_chunks(handle, member.name))
        except _DAMAGED as exc:
            raise BundleError("bundle_invalid", f"The bundle is a damaged tar archive: {exc}.") from None


# ---------------------------------------------------------------------- paths


def normalise_path(name: str) -> str:
    """The entry's path as the rest of the portal uses it: posix separators, no "." segments, NFC (macOS archives
    spell accents decomposed, people type them composed). Raises BundleError for a path that leaves the root."""
    if "\x00" in name or any(ord(c) < 32 for c in name):
        raise BundleError("bundle_invalid", f"“{name!r}” has control characters in its path.", path=name)
    unified = name.replace("\\", "/")  # Windows tools write backslashes; "..\\x" must not slip through
    if unified.startswith("/") or _DRIVE.match(unified):
        raise BundleError("bundle_invalid", f"“{name}” is an absolute path; paths must be relative.", path=name)
    parts = []
    for part in unified.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise BundleError("bundle_invalid", f"“{name}” leaves the bundle's root (a “..” segment).", path=name)
        parts.append(part)
    return unicodedata.normalize("NFC", "/".join(parts))


def _ignored(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return any(p in IGNORED_FOLDERS for p in parts) or name in IGNORED_NAMES or name.startswith("._")


# ---------------------------------------------------------------------- limits


def _collect(entries: Iterator[_Entry], *, limits: BundleLimits, archive_size: int) -> Bundle:
    files: dict[str, bytes] = {}
    folded: dict[str, str] = {}  # casefolded path -> the path as first seen
    total = 0
    for entry in entries:
        if not entry.name:
            continue
        path = normalise_path(entry.name)
        if not path or _ignored(path):
            continue
        if entry.kind == "dir":
            continue
        if entry.kind != "file":
            raise BundleError(
                "bundle_invalid", f"“{path}” is a {entry.kind}; a bundle may hold only plain files.", path=path
            )
        first = folded.get(path.casefold())
        if first is not None:
            detail = "twice" if first == path else f"twice, also as “{first}” (paths differ only in case)"
            raise BundleError("bundle_invalid", f"“{path}” is in the bundle {detail}.", path=path)
        if len(files) >= limits.max_files:
            raise BundleError(
                "bundle_too_large",
                f"“{path}” is past the limit of {limits.max_files} files in a bundle.",
                path=path,
            )
        folded[path.casefold()] = path
        assert entry.chunks is not None
        content = bytearray()
        for chunk in entry.chunks:
            content += chunk
            total += len(chunk)
            _check_sizes(path, len(content), total, entry.compressed_size, limits=limits, archive_size=archive_size)
        files[path] = bytes(content)
    _check_folders(files)
    if not any(p.lower().endswith(MARKDOWN_SUFFIXES) for p in files):
        raise BundleError("bundle_invalid", "The bundle holds no Markdown file (.md or .markdown).")
    return Bundle(files=files, digest=bundle_digest(files))


def _check_sizes(
    path: str, size: int, total: int, compressed: int | None, *, limits: BundleLimits, archive_size: int
) -> None:
    if size > limits.max_file_bytes:
        raise BundleError(
            "bundle_too_large", f"“{path}” is larger than {_mib(limits.max_file_bytes)} uncompressed.", path=path
        )
    if total > limits.max_total_bytes:
        raise BundleError(
            "bundle_too_large",
            f"The bundle is larger than {_mib(limits.max_total_bytes)} uncompressed (reached while reading “{path}”).",
            path=path,
        )
    if size > limits.ratio_floor_bytes and compressed is not None and size / max(compressed, 1) > limits.max_ratio:
        raise BundleError(
            "bundle_too_large",
            f"“{path}” compresses more than {limits.max_ratio:g}:1, which only a zip bomb does at this size.",
            path=path,
        )
    if total > limits.ratio_floor_bytes and total / archive_size > limits.max_ratio:
        raise BundleError(
            "bundle_too_large",
            f"The bundle expands more than {limits.max_ratio:g} times its own size (reached while reading “{path}”).",
            path=path,
        )


def _check_folders(files: dict[str, bytes]) -> None:
    folders: dict[str, str] = {}
    for path in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            folders.setdefault(folder.casefold(), path)
    for path in files:
        inside = folders.get(path.casefold())
        if inside is not None:
            raise BundleError("bundle_invalid", f"“{path}” is both a file and the folder of “{inside}”.", path=path)


def _mib(value: int) -> str:
    return f"{value / 2**20:g} MiB"


def bundle_digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        encoded = path.encode()
        # Lengths frame each part, so ("a", "bc") and ("ab", "c") cannot hash alike.
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
        digest.update(len(files[path]).to_bytes(8, "big") + hashlib.sha256(files[path]).digest())
    return digest.hexdigest()


__all__ = ["Bundle", "BundleError", "BundleLimits", "bundle_digest", "normalise_path", "read_bundle"]

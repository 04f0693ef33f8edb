"""Reading an uploaded bundle (a zip or tar.gz of Markdown and the files it references) without trusting it.

The archive comes from a client, so nothing in it is believed until measured: sizes are counted while decompressing
(headers can lie), paths are checked before they are used as keys, and links, devices and anything else that is not
a plain file are refused. What comes out is a plain ``{path: bytes}`` map that never touches the disk.
"""

from __future__ import annotations

import gzip
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
    # Every entry, folders and ignored files included: millions of empty entries cost memory, not bytes.
    max_entries: int = 20_000


class BundleError(PortalError):
    """A bundle refused before any work starts. ``code`` is "bundle_invalid" (400) or "bundle_too_large" (413);
    ``path`` is the offending entry when there is one, and the message names it too."""

    def __init__(self, code: str, message: str, *, path: str | None = None) -> None:
        status = 413 if code == "bundle_too_large" else 400
        super().__init__(message, code=code, field="bundle", status=status, extra={"path": path} if path else None)
        self.path = path

    def __reduce__(self) -> tuple[object, ...]:
        # A task queue may carry the error between processes; the default pickling passes only the message.
        return (_bundle_error, (self.code, self.message, self.path))


def _bundle_error(code: str, message: str, path: str | None) -> BundleError:
    return BundleError(code, message, path=path)


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
    ``bundle_too_large`` for more files or entries, more bytes in all or in one file, or a higher compression ratio
    than ``limits`` allow."""
    stream = _seekable(data)
    stream.seek(0, io.SEEK_END)
    archive_size = stream.tell()
    stream.seek(0)
    head = stream.read(262)
    stream.seek(0)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        _check_zip_directory(stream, archive_size, limits)
        entries = _zip_entries(stream)
    elif head.startswith(b"\x1f\x8b"):
        entries = _tar_entries(stream, gz=True, limits=limits, archive_size=max(archive_size, 1))
    elif head[257:262] == b"ustar":
        entries = _tar_entries(stream, gz=False, limits=limits, archive_size=max(archive_size, 1))
    else:
        raise BundleError("bundle_invalid", "The bundle is not a zip or tar.gz archive.")
    return _collect(entries, limits=limits, archive_size=max(archive_size, 1))


# ---------------------------------------------------------------------- one entry at a time


@dataclass
class _Entry:
    name: str  # as the archive spells it
    kind: str  # "file", "dir", or what makes it refused ("a symbolic link", "a device", ...)
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


# A central directory record takes 46 bytes plus its name and extra fields (about 140 in real archives); four times
# the bare record leaves room for long paths while bounding how many records a directory of that size can hold.
ZIP_RECORD_ALLOWANCE = 4 * 46


def _check_zip_directory(stream: IO[bytes], archive_size: int, limits: BundleLimits) -> None:
    """Refuse a zip whose central directory could hold more than ``max_entries`` records, before Python's zipfile
    reads it into an object per record. The directory's size bounds the count whatever the archive claims it is."""
    tail_size = min(archive_size, 22 + 65535)  # the end record, after which only a comment may follow
    stream.seek(archive_size - tail_size)
    tail = stream.read(tail_size)
    stream.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return  # zipfile says what is wrong with it
    directory_size = int.from_bytes(tail[at + 12 : at + 16], "little")
    if directory_size == 0xFFFFFFFF:  # zip64: the real size is in the zip64 end record
        locator = tail.rfind(b"PK\x06\x07", 0, at)
        if locator >= 0:
            stream.seek(int.from_bytes(tail[locator + 8 : locator + 16], "little"))
            record = stream.read(56)
            stream.seek(0)
            if record[:4] == b"PK\x06\x06":
                directory_size = int.from_bytes(record[40:48], "little")
    if directory_size > limits.max_entries * ZIP_RECORD_ALLOWANCE:
        raise BundleError(
            "bundle_too_large", f"The bundle's zip directory lists more than {limits.max_entries:,} entries."
        )


def _zip_entries(stream: IO[bytes]) -> Iterator[_Entry]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:  # a version no tool writes
        raise BundleError("bundle_invalid", f"The bundle is a damaged zip archive: {exc}.") from None
    with archive:
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if not info.filename:
                yield _Entry("", "file", None)  # refused by name; is_dir() cannot even look at it
            elif info.is_dir():
                yield _Entry(info.filename, "dir", None)
            elif info.flag_bits & 0x1:
                yield _Entry(info.filename, "an encrypted file", None)
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
        return "a symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


class _Budget(io.RawIOBase):
    """The decompressed tar stream, refused once it grows past what the limits allow. tarfile reads a PAX header
    or a long name whole, in one call: the size asked for is checked before anything is read."""

    def __init__(self, source: IO[bytes], *, limits: BundleLimits, archive_size: int) -> None:
        self.source = source
        self.limits = limits
        self.archive_size = archive_size
        # The files' bytes, plus a header block or three per entry (name, PAX, GNU long name).
        self.allowed = limits.max_total_bytes + limits.max_entries * 3 * tarfile.BLOCKSIZE
        self.consumed = 0
        self.member: str | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size < 0 or self.consumed + size > self.allowed:
            size = self.allowed - self.consumed + 1  # one byte past the limit is enough to know
        data = self.source.read(size)
        self.consumed += len(data)
        where = f" (reached while reading “{self.member}”)" if self.member else ""
        if self.consumed > self.allowed:
            raise BundleError(
                "bundle_too_large",
                f"The bundle is larger than {_mib(self.limits.max_total_bytes)} uncompressed{where}.",
                path=self.member,
            )
        ratio = self.consumed / self.archive_size
        if self.consumed > self.limits.ratio_floor_bytes and ratio > self.limits.max_ratio:
            raise BundleError(
                "bundle_too_large",
                f"The bundle expands more than {self.limits.max_ratio:g} times its own size{where}.",
                path=self.member,
            )
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _tar_entries(stream: IO[bytes], *, gz: bool, limits: BundleLimits, archive_size: int) -> Iterator[_Entry]:
    # Read as a stream ("r|"), through the budget: tarfile's own gzip layer would count only compressed bytes.
    source: IO[bytes] = gzip.GzipFile(fileobj=stream, mode="rb") if gz else stream
    budget = _Budget(source, limits=limits, archive_size=archive_size)
    try:
        archive = tarfile.open(fileobj=budget, mode="r|")  # noqa: SIM115 - closed below, after the generator ends
    except _DAMAGED as exc:
        raise BundleError("bundle_invalid", f"The bundle is not a zip or tar.gz archive ({exc}).") from None
    with archive:
        try:
            for member in archive:
                budget.member = member.name
                if member.isdir():
                    yield _Entry(member.name, "dir", None)
                elif member.issym():
                    yield _Entry(member.name, "a symbolic link", None)
                elif member.islnk():
                    yield _Entry(member.name, "a hard link", None)
                elif member.ischr() or member.isblk():
                    yield _Entry(member.name, "a device", None)
                elif member.isfifo():
                    yield _Entry(member.name, "a named pipe", None)
                elif member.issparse() or not member.isreg():
                    yield _Entry(member.name, "a special file", None)
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
    for count, entry in enumerate(entries, start=1):
        if count > limits.max_entries:
            raise BundleError(
                "bundle_too_large",
                f"“{entry.name}” is past the limit of {limits.max_entries:,} entries (files and folders) in a bundle.",
                path=entry.name,
            )
        if not entry.name:
            raise BundleError("bundle_invalid", f"Entry {count} of the bundle has no name: the archive is damaged.")
        path = normalise_path(entry.name)
        if not path or _ignored(path):
            continue
        if entry.kind == "dir":
            continue
        if entry.kind != "file":
            raise BundleError(
                "bundle_invalid", f"“{path}” is {entry.kind}; a bundle may hold only plain files.", path=path
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

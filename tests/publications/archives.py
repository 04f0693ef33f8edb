"""Building archives for tests: zip and tar.gz from a {path: bytes} map, and the odd entries no real tool makes."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile


def make_zip(files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for path, content in files.items():
            archive.writestr(zipfile.ZipInfo(path), content, compress_type=compression)
    return buffer.getvalue()


def make_tar(files: dict[str, bytes], *, gz: bool = True, special: list[tarfile.TarInfo] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gz else "w") as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for info in special or []:
            archive.addfile(info)
    return buffer.getvalue()


def tar_member(name: str, kind: bytes, *, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def zip_with_symlink(files: dict[str, bytes], link: str, target: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
        info = zipfile.ZipInfo(link)
        info.create_system = 3  # unix, so the mode bits mean what they say
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)
    return buffer.getvalue()

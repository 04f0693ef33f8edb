"""Reading a bundle: what comes out of a good archive, and every kind of bad one refused with the path named."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zipfile

import pytest

from portal.errors import PortalError
from publications.bundle import Bundle, BundleError, BundleLimits, read_bundle
from tests.publications.archives import make_tar, make_zip, tar_member, zip_with_symlink

LIMITS = BundleLimits()
GOOD = {
    "docs-v1/README.md": b"# Docs\n",
    "docs-v1/guide/setup.md": b"# Setup\n\n![diagram](img/flow.png)\n",
    "docs-v1/guide/img/flow.png": b"\x89PNG\r\n\x1a\n....",
}


def refused(data: bytes, limits: BundleLimits = LIMITS) -> BundleError:
    with pytest.raises(BundleError) as caught:
        read_bundle(data, limits=limits)
    return caught.value


# ---------------------------------------------------------------------- good bundles


def test_a_zip_gives_its_files_with_the_top_folder_kept() -> None:
    archive = make_zip(
        {
            **GOOD,
            "docs-v1/guide/": b"",  # a directory entry
            "__MACOSX/docs-v1/._README.md": b"resource fork",
            "docs-v1/.DS_Store": b"finder",
            "docs-v1/guide/._setup.md": b"apple double",
        }
    )
    bundle = read_bundle(archive, limits=LIMITS)
    assert bundle.files == GOOD
    assert bundle.markdown_paths == ["docs-v1/README.md", "docs-v1/guide/setup.md"]


def test_zip_tar_gz_and_tar_are_told_apart_by_content_and_give_the_same_digest() -> None:
    digests = {
        read_bundle(make_zip(GOOD), limits=LIMITS).digest,
        read_bundle(make_zip(GOOD, compression=zipfile.ZIP_STORED), limits=LIMITS).digest,
        read_bundle(make_tar(GOOD), limits=LIMITS).digest,
        read_bundle(make_tar(GOOD, gz=False), limits=LIMITS).digest,
    }
    assert len(digests) == 1
    changed = read_bundle(make_zip({**GOOD, "docs-v1/README.md": b"# Docs!\n"}), limits=LIMITS)
    assert changed.digest not in digests


def test_paths_are_normalised() -> None:
    bundle = read_bundle(
        make_tar({"./docs//a.md": b"a", "docs/./b.md": b"b", "docs/cafe\u0301.md": b"c"}), limits=LIMITS
    )
    assert sorted(bundle.files) == ["docs/a.md", "docs/b.md", "docs/caf\u00e9.md"]


def test_a_file_object_is_read_too_even_one_that_cannot_seek() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    assert read_bundle(Pipe(make_zip(GOOD)), limits=LIMITS).files == GOOD  # type: ignore[arg-type]
    assert read_bundle(io.BytesIO(make_tar(GOOD)), limits=LIMITS).files == GOOD


def test_a_bundle_error_speaks_the_api_error_shape() -> None:
    error = refused(b"not an archive")
    assert isinstance(error, PortalError)
    assert (error.code, error.status, error.field) == ("bundle_invalid", 400, "bundle")
    too_big = refused(make_zip(GOOD), BundleLimits(max_files=1))
    assert (too_big.code, too_big.status, too_big.extra) == (
        "bundle_too_large",
        413,
        {"path": "docs-v1/guide/setup.md"},
    )


# ---------------------------------------------------------------------- not an archive


@pytest.mark.parametrize(
    "data",
    [b"", b"# Just Markdown\n", gzip.compress(b"# gzip of plain Markdown, no tar inside\n"), make_zip(GOOD)[:200]],
    ids=["empty", "markdown", "gzip-not-tar", "truncated-zip"],
)
def test_not_an_archive(data: bytes) -> None:
    error = refused(data)
    assert error.code == "bundle_invalid"


def test_a_damaged_entry_names_its_path() -> None:
    archive = bytearray(make_zip({"a.md": b"# A\n" * 1000}, compression=zipfile.ZIP_STORED))
    archive[60:64] = b"XXXX"  # inside a.md's data: the CRC no longer matches
    error = refused(bytes(archive))
    assert error.code == "bundle_invalid" and error.path == "a.md" and "a.md" in error.message


def test_no_markdown_file() -> None:
    error = refused(make_zip({"img/a.png": b"png", "notes.txt": b"text"}))
    assert error.code == "bundle_invalid" and "no Markdown file" in error.message


# ---------------------------------------------------------------------- unsafe paths and entries


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../evil.md", "leaves the bundle"),
        ("docs/../../evil.md", "leaves the bundle"),
        ("..\\evil.md", "leaves the bundle"),
        ("/etc/evil.md", "absolute"),
        ("C:/evil.md", "absolute"),
        ("docs/a\x01.md", "control characters"),
    ],
)
def test_paths_that_escape_are_refused_in_zip_and_tar(name: str, why: str) -> None:
    for archive in (make_zip({"ok.md": b"# ok", name: b"x"}), make_tar({"ok.md": b"# ok", name: b"x"})):
        error = refused(archive)
        assert error.code == "bundle_invalid" and error.path == name and why in error.message


@pytest.mark.parametrize(
    ("kind", "word"),
    [
        (tarfile.SYMTYPE, "symbolic link"),
        (tarfile.LNKTYPE, "hard link"),
        (tarfile.CHRTYPE, "device"),
        (tarfile.BLKTYPE, "device"),
        (tarfile.FIFOTYPE, "named pipe"),
    ],
)
def test_links_and_devices_in_a_tar_are_refused(kind: bytes, word: str) -> None:
    archive = make_tar({"ok.md": b"# ok"}, special=[tar_member("docs/passwd.md", kind, target="/etc/passwd")])
    error = refused(archive)
    assert error.code == "bundle_invalid" and error.path == "docs/passwd.md" and word in error.message


def test_a_symlink_in_a_zip_is_refused() -> None:
    error = refused(zip_with_symlink({"ok.md": b"# ok"}, "docs/secrets.md", "/etc/shadow"))
    assert error.code == "bundle_invalid" and error.path == "docs/secrets.md" and "symbolic link" in error.message


def test_an_encrypted_zip_entry_is_refused() -> None:
    archive = bytearray(make_zip({"ok.md": b"# ok", "locked.md": b"secret"}))
    # Set the "encrypted" flag of locked.md in its central directory record.
    record = archive.rfind(b"PK\x01\x02")
    flags = struct.unpack_from("<H", archive, record + 8)[0]
    struct.pack_into("<H", archive, record + 8, flags | 0x1)
    error = refused(bytes(archive))
    assert error.code == "bundle_invalid" and error.path == "locked.md" and "encrypted" in error.message


def test_the_same_path_twice_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("docs/a.md", b"one")
        archive.writestr("docs/a.md", b"two")
    error = refused(buffer.getvalue())
    assert error.code == "bundle_invalid" and error.path == "docs/a.md" and "twice" in error.message


def test_the_same_path_under_different_cases_is_refused() -> None:
    error = refused(make_tar({"Guide/Setup.md": b"# one", "guide/setup.md": b"# two"}))
    assert error.code == "bundle_invalid" and error.path == "guide/setup.md"
    assert "“Guide/Setup.md”" in error.message and "case" in error.message


def test_a_path_that_is_both_file_and_folder_is_refused() -> None:
    error = refused(make_zip({"docs": b"file", "docs/a.md": b"# a"}))
    assert error.code == "bundle_invalid" and error.path == "docs" and "docs/a.md" in error.message


# ---------------------------------------------------------------------- size limits and bombs


def test_too_many_files() -> None:
    files = {f"p{n:02d}.md": b"# p" for n in range(11)}
    error = refused(make_zip(files), BundleLimits(max_files=10))
    assert error.code == "bundle_too_large" and error.path == "p10.md" and "10 files" in error.message
    assert len(read_bundle(make_zip(files), limits=BundleLimits(max_files=11)).files) == 11


def test_a_file_too_large() -> None:
    error = refused(make_zip({"a.md": b"# a", "big.png": b"x" * 2001}), BundleLimits(max_file_bytes=2000))
    assert error.code == "bundle_too_large" and error.path == "big.png"


def test_too_many_bytes_in_all() -> None:
    files = {f"f{n}.md": bytes([n]) * 1000 for n in range(5)}
    error = refused(make_tar(files), BundleLimits(max_total_bytes=4500))
    assert error.code == "bundle_too_large" and error.path == "f4.md" and "uncompressed" in error.message


def test_a_zip_bomb_is_stopped_by_its_ratio_while_reading() -> None:
    bomb = make_zip({"a.md": b"# a", "bomb.png": bytes(30 * 2**20)})
    assert len(bomb) < 100_000
    error = refused(bomb)
    assert error.code == "bundle_too_large" and error.path == "bomb.png" and "100:1" in error.message


def test_many_small_entries_are_caught_by_the_overall_ratio() -> None:
    # Each entry stays below the size at which one file's ratio is judged; together they expand 1000-fold.
    bomb = make_zip({"a.md": b"# a", **{f"z{n:02d}.bin": bytes(900_000) for n in range(40)}})
    error = refused(bomb)
    assert error.code == "bundle_too_large" and "expands more than 100 times" in error.message and error.path


def test_a_tar_gz_bomb_is_stopped_too() -> None:
    bomb = make_tar({"a.md": b"# a", "bomb.bin": bytes(30 * 2**20)})
    error = refused(bomb)
    assert error.code == "bundle_too_large" and error.path == "bomb.bin"


def test_sizes_in_the_headers_are_not_believed() -> None:
    archive = bytearray(make_zip({"a.md": b"# a\n" * 100}))
    # The central directory claims a.md is 4 bytes long: reading stops there and the CRC check fails.
    record = archive.rfind(b"PK\x01\x02")
    struct.pack_into("<I", archive, record + 24, 4)
    error = refused(bytes(archive))
    assert error.code == "bundle_invalid" and error.path == "a.md"


def test_small_repetitive_files_are_not_taken_for_bombs() -> None:
    table = b"| a | b |\n|---|---|\n" + b"| 1 | 2 |\n" * 50_000  # ~500 KB that compresses ~500:1
    assert read_bundle(make_zip({"table.md": table}), limits=LIMITS).files["table.md"] == table


def test_the_bundle_value_is_immutable() -> None:
    bundle = read_bundle(make_zip(GOOD), limits=LIMITS)
    assert isinstance(bundle, Bundle)
    with pytest.raises(AttributeError):
        bundle.digest = "x"  # type: ignore[misc]

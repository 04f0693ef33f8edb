"""Files and folders into one `.tar.gz` bundle, in memory, byte for byte the same for the same files.

The bundle's root is the folder when one folder is given, else the deepest folder holding every PATH, so
relative links and image references between the files keep pointing where they pointed on disk.

Reproducible bytes (entries sorted, fixed times, owners and modes, no name or time in the gzip header) make the
bundle's hash a fingerprint of the content alone: the Idempotency-Key derived from it is the same for the same
files wherever and whenever they are bundled.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from portal_publish.errors import UsageError

MARKDOWN_SUFFIXES = (".md", ".markdown")
IGNORE_FILE = ".mdignore"
# Always left out: version control data is never documentation, and the ignore files are the client's own.
SKIPPED_NAMES = frozenset({".git", IGNORE_FILE})
# 2000-01-01T00:00:00Z: any fixed time works; 0 makes some tar tools warn about an implausible date.
FIXED_MTIME = 946684800


@dataclass(frozen=True)
class BundleFile:
    arcname: str
    source: Path


@dataclass
class Bundle:
    root: Path
    files: list[BundleFile]
    data: bytes = b""
    warnings: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def markdown_count(self) -> int:
        return sum(1 for f in self.files if f.arcname.lower().endswith(MARKDOWN_SUFFIXES))

    def source_of(self, arcname: str) -> Path | None:
        return next((f.source for f in self.files if f.arcname == arcname), None)


class _Ignore:
    """The .mdignore files met on the walk (each applies below its folder) and the --exclude globs."""

    def __init__(self, excludes: list[str]) -> None:
        self.excludes = pathspec.GitIgnoreSpec.from_lines(excludes)
        self.specs: dict[str, pathspec.GitIgnoreSpec] = {}
        self.seen: set[str] = set()

    def read(self, folder_rel: str, folder: Path) -> None:
        if folder_rel in self.seen:
            return
        self.seen.add(folder_rel)
        ignore_file = folder / IGNORE_FILE
        if ignore_file.is_file():
            lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
            self.specs[folder_rel] = pathspec.GitIgnoreSpec.from_lines(lines)

    def ignored(self, rel: str, *, is_dir: bool) -> bool:
        candidate = rel + "/" if is_dir else rel
        if self.excludes.match_file(candidate):
            return True
        # As with .gitignore: the deepest file that has a say wins, and within a file the last matching line.
        verdict: bool | None = None
        for folder_rel in sorted(self.specs, key=lambda rel: rel.count("/") + bool(rel)):
            spec = self.specs[folder_rel]
            if folder_rel and not candidate.startswith(folder_rel + "/"):
                continue
            result = spec.check_file(candidate[len(folder_rel) + 1 :] if folder_rel else candidate)
            if result.include is not None:
                verdict = result.include
        return bool(verdict)


def _root_of(paths: list[Path]) -> Path:
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0]
    return Path(os.path.commonpath([p.parent for p in paths]))


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def collect(paths: list[Path], excludes: list[str] | None = None) -> Bundle:
    """The files a bundle of PATHs holds, after .mdignore and --exclude. Raises UsageError for what cannot go in."""
    if not paths:
        raise UsageError("give at least one file or folder to publish")
    absolute = [Path(os.path.abspath(p)) for p in paths]
    for given, path in zip(paths, absolute, strict=True):
        if not path.exists():
            raise UsageError(f"{given}: no such file or folder")
    root = _root_of(absolute)
    real_root = root.resolve()
    ignore = _Ignore(excludes or [])
    chosen: dict[str, Path] = {}
    warnings: list[str] = []

    def rel_of(path: Path) -> str:
        return path.relative_to(root).as_posix()

    def add_file(path: Path) -> None:
        rel = rel_of(path)
        if ignore.ignored(rel, is_dir=False):
            return
        if path.is_symlink():
            target = path.resolve()
            # A link that leaves the tree would publish whatever it points to (a key, a home folder file).
            if not _inside(target, real_root) or not target.is_file():
                raise UsageError(f"{path}: a symbolic link to {target}, outside {root}; leave it out with --exclude")
        chosen[rel] = path

    def read_down_to(folder: Path) -> None:
        # The .mdignore files of the root and of every folder down to a named PATH apply to it, as on a walk.
        ignore.read("", root)
        current = root
        for part in folder.relative_to(root).parts:
            current = current / part
            ignore.read(rel_of(current), current)

    def add_folder(folder: Path) -> None:
        read_down_to(folder)
        for current, dirnames, filenames in os.walk(folder):
            here = Path(current)
            here_rel = "" if here == root else rel_of(here)
            ignore.read(here_rel, here)
            kept = []
            for name in sorted(dirnames):
                sub = here / name
                if name in SKIPPED_NAMES or ignore.ignored(rel_of(sub), is_dir=True):
                    continue
                if sub.is_symlink():
                    warnings.append(f"{rel_of(sub)}/: a symbolic link to a folder, left out")
                    continue
                kept.append(name)
            dirnames[:] = kept
            for name in sorted(filenames):
                if name not in SKIPPED_NAMES:
                    add_file(here / name)

    for path in absolute:
        if path.is_dir():
            add_folder(path)
        else:
            read_down_to(path.parent)
            add_file(path)

    by_case: dict[str, str] = {}
    for rel in sorted(chosen):
        other = by_case.setdefault(rel.lower(), rel)
        if other != rel:
            # Confluence attachment and page names, and many file systems, do not tell these apart.
            raise UsageError(f"{other} and {rel} differ only in case; rename or --exclude one of them")
    bundle = Bundle(root=root, files=[BundleFile(rel, chosen[rel]) for rel in sorted(chosen)], warnings=warnings)
    if not bundle.markdown_count:
        raise UsageError(
            f"no Markdown file ({', '.join(MARKDOWN_SUFFIXES)}) to publish in {', '.join(map(str, paths))}"
            + (" after .mdignore and --exclude" if bundle.files else "")
        )
    return bundle


def build(paths: list[Path], excludes: list[str] | None = None) -> Bundle:
    bundle = collect(paths, excludes)
    bundle.data = archive(bundle.files)
    return bundle


def archive(files: list[BundleFile]) -> bytes:
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for item in sorted(files, key=lambda f: f.arcname):
            try:
                data = item.source.read_bytes()
            except OSError as exc:
                raise UsageError(f"{item.source}: cannot be read ({exc.strerror or exc})") from exc
            info = tarfile.TarInfo(item.arcname)
            info.size = len(data)
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()

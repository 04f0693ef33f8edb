"""Files and folders into one `.tar.gz` bundle, in memory, byte for byte the same for the same files.

The bundle's root is the folder when one folder is given, else the deepest folder holding every PATH, so
relative links and image references between the files keep pointing where they pointed on disk.

Reproducible bytes (entries sorted, fixed times, owners and modes, no name or time in the gzip header) make the
bundle's hash a fingerprint of the content alone: the Idempotency-Key derived from it is the same for the same
files wherever and whenever they are bundled.

A single page (`portal-publish page FILE`) carries the files its Markdown refers to, under the same rules: the
file's folder is the root, `.mdignore` and `--exclude` apply, nothing outside the root goes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import posixpath
import re
import tarfile
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import markdown
import pathspec

from portal_publish.errors import UsageError

MARKDOWN_SUFFIXES = (".md", ".markdown")
IGNORE_FILE = ".mdignore"
# Always left out: version control data is never documentation, and the ignore files are the client's own.
SKIPPED_NAMES = frozenset({".git", IGNORE_FILE})
# 2000-01-01T00:00:00Z: any fixed time works; 0 makes some tar tools warn about an implausible date.
FIXED_MTIME = 946684800
# Relative links to these are other pages (or folders), not files of the page: the portal's converter tells them so.
PAGE_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".mdx", ".html", ".htm")
# The Python-Markdown extensions the portal's converter builds on, with fenced_code for its own fences: what is a link
# or an image, and what is code, is decided as the portal will decide it.
MARKDOWN_EXTENSIONS = ("fenced_code", "tables", "footnotes", "def_list", "admonition", "sane_lists")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class BundleFile:
    arcname: str
    source: Path

    def read(self) -> bytes:
        try:
            return self.source.read_bytes()
        except OSError as exc:
            raise UsageError(f"{self.source}: cannot be read ({exc.strerror or exc})") from exc


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

    def read_down_to(self, root: Path, folder: Path) -> None:
        """The .mdignore files of the root and of every folder down to ``folder`` apply to it, as on a walk."""
        self.read("", root)
        current = root
        for part in folder.relative_to(root).parts:
            current = current / part
            self.read(current.relative_to(root).as_posix(), current)

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


def _link_out(path: Path, target: Path, root: Path) -> UsageError:
    # A link that leaves the tree would publish whatever it points to (a key, a home folder file).
    return UsageError(f"{path}: a symbolic link to {target}, outside {root}; leave it out with --exclude")


def _case_clash(paths: list[str]) -> UsageError | None:
    by_case: dict[str, str] = {}
    for rel in sorted(paths):
        other = by_case.setdefault(rel.lower(), rel)
        if other != rel:
            # Confluence attachment and page names, and many file systems, do not tell these apart.
            return UsageError(f"{other} and {rel} differ only in case; rename or --exclude one of them")
    return None


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
            if not _inside(target, real_root) or not target.is_file():
                raise _link_out(path, target, root)
        chosen[rel] = path

    def add_folder(folder: Path) -> None:
        ignore.read_down_to(root, folder)
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
            ignore.read_down_to(root, path.parent)
            add_file(path)

    clash = _case_clash(list(chosen))
    if clash:
        raise clash
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
            data = item.read()
            info = tarfile.TarInfo(item.arcname)
            info.size = len(data)
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ one page


class _Targets(HTMLParser):
    """The targets of <img src> and <a href> in HTML, Markdown's images and links among them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = {"img": "src", "a": "href"}.get(tag)
        value = dict(attrs).get(name) if name else None
        if value:
            self.found.append(value)


def local_references(text: str) -> list[str]:
    """The local paths a Markdown text's images and links point at, in the order they first appear: relative,
    percent-decoded, without "#fragment" or "?query". Not what is in code (a fence, an indented block, a code span),
    nor a URL, an "#anchor" or a "/path" from a site's root."""
    try:
        html = markdown.markdown(text, extensions=list(MARKDOWN_EXTENSIONS))
    except RecursionError:
        raise UsageError("the Markdown is nested too deeply to be read (lists or quotes hundreds of levels deep)") from None
    targets = _Targets()
    targets.feed(html)
    targets.close()
    found: list[str] = []
    for raw in targets.found:
        raw = raw.strip()
        if not raw or raw.startswith(("#", "/")) or _URL_SCHEME.match(raw):
            continue
        path = unquote(raw.split("#", 1)[0].split("?", 1)[0])
        if path and path not in found:
            found.append(path)
    return found


@dataclass
class PageFiles:
    """What a single page carries: ``files`` are named by the path the Markdown refers to them by ("img/a.png"),
    which is the file name the import expects; ``page_links`` lead to other Markdown files or folders; ``skipped``
    says, per file, why it stays behind."""

    root: Path
    files: list[BundleFile] = field(default_factory=list)
    page_links: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def page_files(markdown_file: Path, references: list[str], excludes: list[str] | None = None) -> PageFiles:
    """The files of ``references`` (from ``local_references``) that go with the page of ``markdown_file``: those in
    its folder and below, after .mdignore and --exclude. Raises UsageError for a referenced file that does not exist,
    a symbolic link out of the folder, or two names that differ only in case."""
    root = Path(os.path.abspath(markdown_file)).parent
    real_root = root.resolve()
    ignore = _Ignore(excludes or [])
    result = PageFiles(root=root)
    chosen: dict[str, Path] = {}
    missing: list[str] = []
    for reference in references:
        rel = posixpath.normpath(reference)
        if rel == ".." or rel.startswith("../"):
            result.skipped.append(f"{reference}: outside {root}, not sent (a page takes files from its folder and below)")
            continue
        source = root / rel
        if rel == markdown_file.name:
            continue  # the page itself ([top](notes.md#top))
        if reference.endswith("/") or rel.lower().endswith(PAGE_SUFFIXES) or source.is_dir():
            result.page_links.append(reference)
            continue
        ignore.read_down_to(root, source.parent)
        if ignore.ignored(rel, is_dir=False):
            result.skipped.append(f"{reference}: left out by .mdignore or --exclude, not sent")
            continue
        target = source.resolve()
        if not source.exists():
            missing.append(reference)
            continue
        if not _inside(target, real_root) or not target.is_file():
            raise _link_out(source, target, root)
        # The portal compares names in NFC (a Mac writes some accented names decomposed).
        chosen.setdefault(unicodedata.normalize("NFC", rel), source)
    if missing:
        raise UsageError(
            f"{markdown_file} refers to {'a file' if len(missing) == 1 else 'files'} that "
            f"{'does' if len(missing) == 1 else 'do'} not exist: {', '.join(missing)} (under {root}); add "
            f"{'it' if len(missing) == 1 else 'them'}, fix the reference, or leave {'it' if len(missing) == 1 else 'them'}"
            " out with .mdignore or --exclude"
        )
    clash = _case_clash(list(chosen))
    if clash:
        raise clash
    result.files = [BundleFile(rel, chosen[rel]) for rel in sorted(chosen)]
    return result

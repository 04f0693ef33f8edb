"""From a bundle to the pages of a publication: the tree (folders become parents), titles, order, links between the
files, the attachments each page needs, and pages too large for Confluence split at their headings.

Free of Django and of Confluence calls: the publication service decides what to write; this module only says what
each page is. Pages link to each other by title (``ri:content-title``), so a link resolves in Confluence whether its
target page was created before, after or in the same run.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from urllib.parse import unquote
from xml.sax.saxutils import escape, quoteattr

from confluence.converter import (
    AttachmentLink,
    Converted,
    Diagrams,
    LinkTarget,
    MathMacros,
    PageLink,
    TextOnly,
    convert,
)
from confluence.converter.diagrams import DiagramError, GeneratedAttachment
from confluence.converter.front_matter import FrontMatterValue, labels_from, split_front_matter
from confluence.converter.resolve import anchor_name
from portal.attachments import PageAttachment, attachment_names
from portal.attachments import media_type_of as media_type
from publications.bundle import MARKDOWN_SUFFIXES, Bundle, BundleError

INDEX_NAMES = ("index", "readme")  # a folder's own page; index first, as MkDocs and Hugo read it
FOLDER_BODY = '<ac:structured-macro ac:name="children" ac:schema-version="2"/>'
MAX_TITLE = 255
MAX_EXPANSION = 100  # storage bytes per Markdown byte that no document reaches (see split_oversized)


@dataclass
class PlannedPage:
    key: str  # stable identity in the tree: "guide/setup.md", "guide/" (a folder page made up), "big.md#2" (a part)
    path: str | None  # the Markdown file, None for a made-up folder page
    title: str
    parent: str | None  # the parent's key, None for a root (placed under the publication's parent page)
    position: int  # among its siblings, from 0
    markdown: str  # front matter removed
    source_dir: str  # the folder relative links are resolved from
    weight: float | None = None
    labels: list[str] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)  # fragments that other pages link to on this page
    files: dict[str, str] = field(default_factory=dict)  # bundle path of each referenced file -> attachment name
    parts: list[str] = field(default_factory=list)  # keys of the parts a split page links to, in order
    warnings: list[str] = field(default_factory=list)  # about the page as a whole (one too large to split)


@dataclass
class BrokenLink:
    path: str
    href: str
    reason: str


@dataclass
class Plan:
    pages: list[PlannedPage]  # parents before children, siblings in order
    broken_links: list[BrokenLink]
    files: dict[str, bytes] = field(default_factory=dict, repr=False)  # the bundle's, for the attachments
    # (page key, lower-cased fragment) -> the key of the page that holds that anchor: itself, or one of its parts
    anchor_homes: dict[tuple[str, str], str] = field(default_factory=dict)
    folder_pages: dict[str, str] = field(default_factory=dict)  # folder ("" for the root) -> the key of its page
    rendering: Rendering | None = None  # what the pages are rendered with (plan_bundle's ``rendering``)
    # page key -> its rendering, made while planning, for each page whose rendering the planning pass could already
    # tell in full (see _resolve_references); the others are rendered by render().
    rendered: dict[str, RenderedPage] = field(default_factory=dict, repr=False, compare=False)
    # The look-up tables of render_page, built once per plan (a plan is not changed once planned; pages added
    # while splitting change its length, which rebuilds them).
    _index: _Index | None = field(default=None, init=False, repr=False, compare=False)
    _indexed: tuple[int, int] = field(default=(0, -1), init=False, repr=False, compare=False)

    def page(self, key: str) -> PlannedPage:
        return self.index().by_key[key]

    def render(self, page: PlannedPage) -> RenderedPage:
        """The page as render_page renders it with the plan's ``rendering``: the planner's own rendering when it has
        one, so that a page is converted once."""
        done = self.rendered.get(page.key)
        if done is not None:
            return done
        rendering = self.rendering or Rendering(space_key="")
        return render_page(self, page, space_key=rendering.space_key, math=rendering.math, diagrams=rendering.diagrams)

    def _by_key(self) -> dict[str, PlannedPage]:
        return {page.key: page for page in self.pages}

    def index(self) -> _Index:
        signature = (id(self.pages), len(self.pages))
        if self._index is None or self._indexed != signature:
            self._index, self._indexed = _Index(self), signature
        return self._index


@dataclass(frozen=True)
class Rendering:
    """What pages are rendered with: links by title in ``space_key``, the site's math macros, diagram renderers."""

    space_key: str
    math: MathMacros | None = None
    diagrams: Diagrams | None = None


@dataclass
class RenderedPage:
    body: str
    labels: list[str]
    attachments: list[PageAttachment]
    warnings: list[str]


# ---------------------------------------------------------------------- planning


def plan_bundle(bundle: Bundle, *, rendering: Rendering | None = None) -> Plan:
    """The pages of a bundle in tree order. Raises BundleError (``bundle_invalid``) for Markdown that is not UTF-8,
    a front-matter ``parent`` that is not a Markdown file of the bundle or makes a cycle, and two pages with the
    same title. With ``rendering``, the pages are rendered while they are planned (Plan.render hands them on)."""
    plan = plan_tree(bundle, rendering=rendering)
    resolve_references(plan)
    return plan


def plan_tree(bundle: Bundle, *, rendering: Rendering | None = None) -> Plan:
    """The first half of plan_bundle, which is quick: the pages, their titles and places in the tree, and the
    bundle errors. Links, files and anchors are left to resolve_references, the half that converts every page."""
    sources = {path: _decode(path, bundle.files[path]) for path in bundle.markdown_paths}
    pages: dict[str, PlannedPage] = {}
    folder_keys: dict[str, str] = {}  # folder ("" for the root) -> the key of its page
    by_folder: dict[str, list[str]] = {}
    for path in sources:
        by_folder.setdefault(posixpath.dirname(path), []).append(path)
    for folder in sorted(_folders(sources)):
        index = _index_file(by_folder.get(folder, []))
        if index is not None:
            folder_keys[folder] = index
        elif folder:
            key = folder + "/"
            folder_keys[folder] = key
            pages[key] = PlannedPage(
                key=key,
                path=None,
                title=_pretty(posixpath.basename(folder)),
                parent=None,
                position=0,
                markdown="",
                source_dir=folder,
            )
    parents_from_front_matter: dict[str, str] = {}
    for path, text in sources.items():
        metadata, body = split_front_matter(text)
        folder = posixpath.dirname(path)
        pages[path] = PlannedPage(
            key=path,
            path=path,
            title=_title(path, metadata, body),
            parent=None,
            position=0,
            markdown=body,
            source_dir=folder,
            weight=_weight(metadata.get("weight")),
            labels=labels_from(metadata),
        )
        declared = metadata.get("parent")
        if isinstance(declared, str) and declared.strip():
            parents_from_front_matter[path] = _declared_parent(path, declared.strip(), sources, folder_keys)
    for key, page in pages.items():
        page.parent = _folder_parent(key, page, folder_keys)
    for path, parent in parents_from_front_matter.items():
        pages[path].parent = parent
    _refuse_cycles(pages, parents_from_front_matter)
    _refuse_duplicate_titles(pages)
    ordered = _tree_order(pages)
    plan = Plan(
        pages=ordered, broken_links=[], files=dict(bundle.files), folder_pages=folder_keys, rendering=rendering
    )
    return plan


def _decode(path: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(
            "bundle_invalid", f"“{path}” is not UTF-8 text (byte {exc.start}); save it as UTF-8.", path=path
        ) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _folders(sources: dict[str, str]) -> set[str]:
    folders = {""}
    for path in sources:
        folder = posixpath.dirname(path)
        while folder:
            folders.add(folder)
            folder = posixpath.dirname(folder)
    return folders


def _stem(path: str) -> str:
    name = posixpath.basename(path)
    for suffix in MARKDOWN_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _index_file(inside: list[str]) -> str | None:
    """The folder's own page among the Markdown files directly inside it."""
    for wanted in INDEX_NAMES:
        found = sorted(p for p in inside if _stem(p).casefold() == wanted)
        if found:
            return found[0]
    return None


def _folder_parent(key: str, page: PlannedPage, folder_keys: dict[str, str]) -> str | None:
    """The page of the folder holding this page: for a folder's own page, the folder above."""
    folder = page.source_dir
    if folder_keys.get(folder) == key:  # the folder's own page (index, README or made up)
        if not folder:
            return None
        folder = posixpath.dirname(folder)
    while True:
        parent = folder_keys.get(folder)
        if parent is not None and parent != key:
            return parent
        if not folder:
            return None
        folder = posixpath.dirname(folder)


def _declared_parent(path: str, declared: str, sources: dict[str, str], folder_keys: dict[str, str]) -> str:
    base = "" if declared.startswith("/") else posixpath.dirname(path)
    target = posixpath.normpath(posixpath.join(base, declared.lstrip("/")))
    if target in sources:
        return target
    if target in folder_keys:
        return folder_keys[target]
    raise BundleError(
        "bundle_invalid",
        f"“{path}” names “{declared}” as its parent in its front matter, which is not a Markdown file or folder "
        "of the bundle.",
        path=path,
    )


def _refuse_cycles(pages: dict[str, PlannedPage], declared: dict[str, str]) -> None:
    for start in declared:
        seen = [start]
        parent = pages[start].parent
        while parent is not None:
            if parent in seen:
                cycle = seen[seen.index(parent) :]
                names = " → ".join(f"“{key}”" for key in [*cycle, parent])
                raise BundleError(
                    "bundle_invalid", f"The front matter's parent fields make a cycle: {names}.", path=cycle[0]
                )
            seen.append(parent)
            parent = pages[parent].parent


def _refuse_duplicate_titles(pages: dict[str, PlannedPage]) -> None:
    seen: dict[str, str] = {}
    for key in sorted(pages):
        folded = pages[key].title.casefold()
        other = seen.get(folded)
        if other is not None:
            raise BundleError(
                "bundle_invalid",
                f"“{other}” and “{key}” have the same title “{pages[key].title}”; titles must be unique in a space "
                "(set a different `title` in the front matter of one of them).",
                path=key,
            )
        seen[folded] = key


def _tree_order(pages: dict[str, PlannedPage]) -> list[PlannedPage]:
    children: dict[str | None, list[PlannedPage]] = {}
    for page in pages.values():
        children.setdefault(page.parent, []).append(page)
    ordered: list[PlannedPage] = []

    def visit(parent: str | None) -> None:
        siblings = sorted(children.get(parent, []), key=_sibling_order)
        for position, page in enumerate(siblings):
            page.position = position
            ordered.append(page)
            visit(page.key)

    visit(None)
    # Every parent is a page of the plan and cycles were refused, so every page is reached from a root.
    assert len(ordered) == len(pages), sorted(set(pages) - {page.key for page in ordered})
    return ordered


def _sibling_order(page: PlannedPage) -> tuple[bool, float, list[object]]:
    # Pages with a weight first, by weight; then the rest by name, numbers compared as numbers ("2" before "10").
    name = posixpath.basename(page.key.rstrip("/"))
    if page.path is not None and _stem(page.path).casefold() in INDEX_NAMES:
        name = posixpath.basename(page.source_dir) or name
    natural = [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name)]
    return (page.weight is None, page.weight or 0.0, natural)


# ---------------------------------------------------------------------- titles


_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_NOT_PARAGRAPH = re.compile(r"^ {0,3}(?:[-*+>|#]|\d+[.)]|<|$)|^ {4}")
_INLINE_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|!?\[([^\]]*)\]\[[^\]]*\]")
_TAG = re.compile(r"<[^>]+>")


def _title(path: str, metadata: dict[str, FrontMatterValue], body: str) -> str:
    declared = metadata.get("title")
    if isinstance(declared, str) and declared.strip():
        return _clip(" ".join(declared.split()))
    heading = first_heading(body)
    if heading:
        return _clip(heading)
    return _clip(_pretty(_stem(path)))


def first_heading(markdown: str) -> str | None:
    """The text of the document's first heading (ATX or setext, outside code), as plain words."""
    fence: str | None = None
    paragraph: list[str] = []
    for line in markdown.split("\n"):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening is not None and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening is not None:
            fence = opening.group(1)
            paragraph = []
            continue
        atx = _ATX.match(line)
        if atx is not None and atx.group(2):
            return _plain(atx.group(2)) or None
        underline = _SETEXT.match(line)
        if underline is not None and paragraph:
            return _plain(" ".join(paragraph)) or None
        paragraph = [] if _NOT_PARAGRAPH.match(line) else [*paragraph, line.strip()]
    return None


def _plain(text: str) -> str:
    text = _INLINE_LINK.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text)
    text = _TAG.sub("", text)
    text = re.sub(r"(\*\*|__|\*|`)", "", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!])", r"\1", text)
    return " ".join(text.split())


def _pretty(name: str) -> str:
    words = " ".join(re.sub(r"[-_]+", " ", name).split())
    return (words[:1].upper() + words[1:]) or name


def _clip(title: str) -> str:
    # Control characters cannot be in an XML attribute (links carry the title) nor in a Confluence title.
    title = " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in title).split())
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1].rstrip() + "…"


def _weight(value: FrontMatterValue | None) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


# ---------------------------------------------------------------------- links and files


@dataclass
class _Reference:
    """Where one relative href or src of a page leads."""

    kind: str  # "page", "file", "broken"
    target: str  # page key, bundle path, or the reason it is broken
    fragment: str | None = None


class _Index:
    """What a pass over the pages looks references up in, built once per pass."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.by_key = plan._by_key()
        # A split page keeps its key; its parts ("big.md#2") are not link targets of their own.
        self.pages_by_path = {p.path: p.key for p in plan.pages if p.path is not None and p.key == p.path}
        self.folded = {path.casefold(): path for path in plan.files}

    def resolve(self, page: PlannedPage, href: str, *, image: bool) -> _Reference | None:
        """Where a relative reference of ``page`` leads, or None for what is not a reference to a file. A link's href
        comes as written; an image's source comes from the converter already decoded, without query or fragment."""
        if image:
            path_part, fragment = href, None
        else:
            path_part = href.split("#", 1)[0].split("?", 1)[0]
            fragment = href.split("#", 1)[1] if "#" in href else None
        if not path_part:
            return None
        raw = unicodedata.normalize("NFC", path_part if image else unquote(path_part))
        base = "" if raw.startswith("/") else page.source_dir
        joined = posixpath.normpath(posixpath.join(base, raw.lstrip("/")))
        joined = "" if joined == "." else joined
        if joined == ".." or joined.startswith("../"):
            what = "Markdown file" if raw.lower().endswith(MARKDOWN_SUFFIXES) else "file"
            return _Reference("broken", f"the {what} is outside the bundle")
        if not image:
            target = self.pages_by_path.get(joined) or self.plan.folder_pages.get(joined)
            if target is not None:
                return _Reference("page", target, fragment or None)
        if joined in self.plan.files:
            if joined.lower().endswith(MARKDOWN_SUFFIXES):
                return _Reference("broken", "a Markdown file cannot be shown as an image")
            return _Reference("file", joined)
        near = self.folded.get(joined.casefold())
        hint = f" (the bundle has “{near}”: names are case-sensitive)" if near else ""
        return _Reference("broken", f"“{joined or '/'}” is not in the bundle{hint}")


class _Recorder:
    """The resolver of the planning pass: notes what each page refers to. With the plan's rendering it also renders
    the page as the rendering pass would (see _Linker), wherever it can already tell how."""

    def __init__(self, plan: Plan, page: PlannedPage, *, anchors_known: bool) -> None:
        self.linker = _Linker(plan, page, plan.rendering.space_key if plan.rendering is not None else "")
        self.anchors_known = anchors_known
        self.index = self.linker.index
        self.page = page
        self.links: list[tuple[str, _Reference]] = []
        self.broken: list[BrokenLink] = []
        # False once the page refers to a heading of a page: which page holds it (a part, should the target be split)
        # and whether the target plants its anchor are known only when every page has been read.
        self.settled = True

    def link(self, href: str) -> LinkTarget | None:
        reference = self.index.resolve(self.page, href, image=False)
        if reference is None:
            return None
        self._note(href, reference)
        if reference.kind == "page" and reference.fragment:
            self.settled = False
            return None
        return self.linker.target(href, reference)

    def image(self, src: str) -> str | None:
        reference = self.index.resolve(self.page, src, image=True)
        if reference is not None:
            self._note(src, reference)
        return self.linker.source(src, reference)

    def wanted_anchors(self) -> Collection[str]:
        # Known once every page that may link to a heading has been read; a page read before is rendered again.
        return self.linker.wanted_anchors() if self.anchors_known else ()

    def _note(self, href: str, reference: _Reference) -> None:
        if reference.kind == "broken":
            assert self.page.path is not None
            self.broken.append(BrokenLink(path=self.page.path, href=href, reason=reference.target))
        elif reference.kind == "page":
            self.links.append((href, reference))


class _DeferredDiagrams(Diagrams):
    """Diagrams are rendered by the page threads (in parallel, and only for pages that are written): the planning
    pass notes that a page has one and leaves the page to be rendered then."""

    def __init__(self, diagrams: Diagrams) -> None:
        super().__init__()
        self.diagrams = diagrams
        self.asked = False

    def handles(self, kind: str) -> bool:
        handled = self.diagrams.handles(kind)
        self.asked = self.asked or handled
        return handled

    def render(self, kind: str, source: str) -> GeneratedAttachment:
        raise DiagramError("rendered with the page")


# What remains of a page's text without its headings' marks: a link to a heading of a page needs a "#" in it (or its
# entity &num;, which spells none); the other forms of it (&#35;, &#x23;, \#) have one too.
_HEADING_MARKS = re.compile(r"^[ \t]*#+", re.MULTILINE)


def _may_link_to_headings(page: PlannedPage) -> bool:
    return "#" in _HEADING_MARKS.sub("", page.markdown) or "&num;" in page.markdown.lower()


def resolve_references(plan: Plan) -> None:
    """Converts every page once with a recording resolver: its links, its files, the anchors others want of it.

    Pages that may link to headings of pages are read first: once they have been, every anchor a page must plant is
    known, and each page read after them is rendered in full, in Plan.rendered as soon as it is (its rendering no
    longer depends on pages still to be read). With the plan's rendering, the conversion is the page's
    rendering (Plan.render hands it on) unless the page needed what only the whole plan tells: links to headings of
    pages, anchors wanted of it before they were all known, a diagram, or attachment names that a later file of the
    page changed (two files of one base name)."""
    by_key = plan.index().by_key
    rendering = plan.rendering
    linking: list[PlannedPage] = []
    others: list[PlannedPage] = []
    for page in plan.pages:
        if page.path is not None:
            (linking if _may_link_to_headings(page) else others).append(page)
    broken: dict[str, list[BrokenLink]] = {}
    wanted_from: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (target key, fragment) -> [(path, href)]
    drafts: list[tuple[PlannedPage, Converted, _Linker]] = []

    def read(page: PlannedPage, *, anchors_known: bool) -> None:
        recorder = _Recorder(plan, page, anchors_known=anchors_known)
        deferred = _DeferredDiagrams(rendering.diagrams) if rendering is not None and rendering.diagrams else None
        converted = convert(
            page.markdown, title=page.title, resolve=recorder, math=rendering.math if rendering else None,
            diagrams=deferred,
        )
        broken[page.key] = recorder.broken
        linker = recorder.linker
        page.files = _attachment_names(page, linker.used)
        for href, reference in recorder.links:
            if reference.fragment:
                assert not anchors_known, f"{page.key} links to a heading with no # in its text"
                by_key[reference.target].anchors.add(reference.fragment)
                wanted_from.setdefault((reference.target, reference.fragment), []).append((page.path, href))
        # A name is given from the files referred to so far: a later file of the same base name renames it.
        named = all(page.files[path] == name for path, name in linker.named)
        settled = recorder.settled and not (deferred is not None and deferred.asked) and named
        if rendering is not None and settled:
            if not anchors_known:
                drafts.append((page, converted, linker))
            else:
                plan.rendered[page.key] = _finished(plan, page, converted, linker, rendering.space_key)

    for page in linking:
        read(page, anchors_known=False)
    # A fragment no heading of the target page answers to is reported; the link then opens the page's top.
    missing: list[BrokenLink] = []
    for target_key in sorted({key for key, _ in wanted_from}):
        target = by_key[target_key]
        planted = _planted(target)
        for fragment in sorted(target.anchors):
            key = unquote(fragment).lower()
            if key in planted:
                plan.anchor_homes[(target_key, key)] = target_key
                continue
            for path, href in wanted_from.get((target_key, fragment), []):
                missing.append(
                    BrokenLink(path=path, href=href, reason=f"“{target.path or target.key}” has no heading #{fragment}")
                )
        target.anchors = {f for f in target.anchors if unquote(f).lower() in planted}
    assert rendering is not None or not drafts
    for page, converted, linker in drafts:
        if not page.anchors:  # no anchor to plant: the rendering pass would convert it just so
            plan.rendered[page.key] = _finished(plan, page, converted, linker, rendering.space_key)
    for page in others:
        read(page, anchors_known=True)
    plan.broken_links.extend(link for page in plan.pages for link in broken.get(page.key, []))
    plan.broken_links.extend(missing)


def _planted(page: PlannedPage) -> set[str]:
    """The fragments (lower-cased) whose anchors a page's rendering plants."""
    if page.path is None:
        return set()
    body = convert(page.markdown, title=page.title, resolve=_Planting(page.anchors)).body
    return {unquote(f).lower() for f in page.anchors if _anchor_macro(anchor_name(unquote(f).lower())) in body}


class _Planting:
    def __init__(self, anchors: Collection[str]) -> None:
        self.anchors = sorted(anchors)

    def link(self, href: str) -> LinkTarget | None:
        return None

    def image(self, src: str) -> str | None:
        return posixpath.basename(src) or "image"

    def wanted_anchors(self) -> Collection[str]:
        return self.anchors


def _anchor_macro(name: str) -> str:
    return f'<ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">{escape(name)}</ac:parameter>'


def _attachment_names(page: PlannedPage, files: list[str]) -> dict[str, str]:
    # One naming rule for every page the portal writes (portal.attachments): two files of one base name never collide.
    return attachment_names(page.source_dir, files)


# ---------------------------------------------------------------------- rendering


class _Linker:
    """The resolver of the rendering pass: links by title, files by their attachment names."""

    def __init__(self, plan: Plan, page: PlannedPage, space_key: str) -> None:
        self.plan = plan
        self.index = plan.index()
        self.page = page
        self.space_key = space_key
        self.by_key = self.index.by_key
        self.used: list[str] = []
        self.named: list[tuple[str, str]] = []  # (file, the name the body gives it), in the order of the body
        self.warnings: list[str] = []

    def link(self, href: str) -> LinkTarget | None:
        reference = self.index.resolve(self.page, href, image=False)
        return None if reference is None else self.target(href, reference)

    def target(self, href: str, reference: _Reference) -> LinkTarget:
        if reference.kind == "broken":
            self.warnings.append(f"link to {href}: {reference.target}")
            return TextOnly()
        if reference.kind == "file":
            return AttachmentLink(self._use(reference.target))
        anchor = None
        target_key = reference.target
        if reference.fragment:
            home = self.plan.anchor_homes.get((reference.target, unquote(reference.fragment).lower()))
            if home is not None:
                target_key, anchor = home, reference.fragment
            else:
                target = self.by_key[reference.target]
                self.warnings.append(
                    f"link to {href}: “{target.path or target.key}” has no heading #{reference.fragment}"
                )
        return PageLink(title=self.by_key[target_key].title, space_key=self.space_key, anchor=anchor)

    def image(self, src: str) -> str | None:
        return self.source(src, self.index.resolve(self.page, src, image=True))

    def source(self, src: str, reference: _Reference | None) -> str | None:
        if reference is None or reference.kind != "file":
            self.warnings.append(f"image {src}: {reference.target if reference else 'not a file'}")
            return None
        return self._use(reference.target)

    def wanted_anchors(self) -> Collection[str]:
        return sorted(self.page.anchors)

    def _use(self, path: str) -> str:
        if path not in self.used:
            self.used.append(path)
        name = self.page.files.get(path)
        if name is None:  # a file only this rendering found (a part of a split page): name it the same way
            self.page.files = _attachment_names(self.page, [*self.page.files, path])
            name = self.page.files[path]
        self.named.append((path, name))
        return name


def render_page(
    plan: Plan,
    page: PlannedPage,
    *,
    space_key: str,
    math: MathMacros | None = None,
    diagrams: Diagrams | None = None,
) -> RenderedPage:
    """The storage body of a planned page with its links resolved by title in ``space_key``, its labels, the
    attachments it references (name unique on the page, media type from the extension, sha256 of the content), the
    diagrams ``diagrams`` rendered (attachments too), and warnings about what it refers to that cannot be followed or
    a diagram that could not be rendered."""
    if page.path is None and not page.markdown:
        return RenderedPage(body=FOLDER_BODY, labels=[], attachments=[], warnings=[])
    linker = _Linker(plan, page, space_key)
    converted = convert(page.markdown, title=page.title, resolve=linker, math=math, diagrams=diagrams)
    return _finished(plan, page, converted, linker, space_key)


def _finished(plan: Plan, page: PlannedPage, converted: Converted, linker: _Linker, space_key: str) -> RenderedPage:
    body = converted.body
    if page.parts:
        body += _parts_list(plan, page, space_key)
    attachments = [PageAttachment.of(page.files[path], plan.files[path]) for path in linker.used]
    taken = {item.name.casefold() for item in attachments}
    # A rendered diagram is named after its source's hash ("mermaid-….png"): a bundle file of that very name wins.
    attachments += [PageAttachment.generated(item) for item in converted.generated if item.name.casefold() not in taken]
    return RenderedPage(
        body=body, labels=list(page.labels), attachments=attachments,
        warnings=[*page.warnings, *linker.warnings, *converted.warnings],
    )


def _parts_list(plan: Plan, page: PlannedPage, space_key: str) -> str:
    items = "".join(
        f"<li><ac:link><ri:page ri:space-key={quoteattr(space_key)} ri:content-title={quoteattr(plan.page(key).title)}"
        f"/><ac:link-body>{escape(plan.page(key).title)}</ac:link-body></ac:link></li>"
        for key in page.parts
    )
    return f"<ul>{items}</ul>"


__all__ = [
    "BrokenLink",
    "PageAttachment",
    "Plan",
    "PlannedPage",
    "RenderedPage",
    "Rendering",
    "first_heading",
    "media_type",
    "may_split",
    "plan_bundle",
    "plan_tree",
    "render_page",
    "resolve_references",
    "split_oversized",
]


# ---------------------------------------------------------------------- splitting pages over the limit


_LINK_DEFINITION = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:\s*\S")
_FOOTNOTE_DEFINITION = re.compile(r"^ {0,3}\[\^([^\]]+)\]:")
_FOOTNOTE_REFERENCE = re.compile(r"\[\^([^\]]+)\](?!:)")
_SAME_PAGE_LINK = re.compile(r"(\]\(\s*<?)#([^)\s>]+)")


def split_oversized(plan: Plan, *, space_key: str, max_body_bytes: int = 1_000_000) -> Plan:
    """A plan in which no page's rendered body exceeds ``max_body_bytes``: each page over it becomes a parent (its
    text before the first heading, then links to its parts) with a child page per section, cut at the highest
    heading level it has; a part still too large is cut again at the next level. Links to a heading of the split
    page, from other pages or from the page itself, lead to the part that holds the heading. A page that cannot be
    cut small enough (no headings left) stays as it is, with a warning."""
    titles = {page.title.casefold() for page in plan.pages}
    result = Plan(
        pages=[],
        broken_links=list(plan.broken_links),
        files=plan.files,
        anchor_homes=dict(plan.anchor_homes),
        folder_pages=dict(plan.folder_pages),
        rendering=plan.rendering,
        rendered=dict(plan.rendered),
    )
    shift: dict[str, int] = {}  # parent key -> how many parts now come before its original children
    for original in plan.pages:
        page = replace(original, position=original.position + shift.get(original.parent or "", 0))
        if not _may_exceed(page, max_body_bytes) or _size(result, plan, page, space_key) <= max_body_bytes:
            result.pages.append(page)
            continue
        result.rendered.pop(page.key, None)  # rendered whole: its parts are rendered each on their own
        pages = _split(result, plan, page, space_key=space_key, max_body_bytes=max_body_bytes, titles=titles)
        result.pages.extend(pages)
        shift[page.key] = len(page.parts)
    return result


def may_split(plan: Plan, *, max_body_bytes: int = 1_000_000) -> bool:
    """Whether split_oversized may split a page of the plan: if not, it leaves the plan as it is."""
    return any(_may_exceed(page, max_body_bytes) for page in plan.pages)


def _may_exceed(page: PlannedPage, max_body_bytes: int) -> bool:
    # Rendering is the only exact measure, but a page this small cannot reach the limit: the most Markdown was
    # seen to grow is 83-fold, a page of nothing but footnote references (each becomes an anchor and a link).
    return page.path is not None and len(page.markdown.encode()) * MAX_EXPANSION > max_body_bytes


def _size(result: Plan, plan: Plan, page: PlannedPage, space_key: str, pending: list[PlannedPage] | None = None) -> int:
    # The pages split so far (and the parts of the split under way) override their originals: later entries win.
    view = Plan(
        pages=[*plan.pages, *result.pages, *(pending or []), page],
        broken_links=[],
        files=plan.files,
        anchor_homes=result.anchor_homes,
        folder_pages=plan.folder_pages,
    )
    return len(render_page(view, page, space_key=space_key).body.encode())


def _split(
    result: Plan,
    plan: Plan,
    page: PlannedPage,
    *,
    space_key: str,
    max_body_bytes: int,
    titles: set[str],
    pending: list[PlannedPage] | None = None,
) -> list[PlannedPage]:
    """The page, now a parent of its parts, followed by the parts (and theirs), in tree order."""
    assert page.path is not None
    definitions, footnotes, kept = _shared_definitions(page.markdown.split("\n"))
    cuts = _cut_points(kept)
    if not cuts:
        page.warnings = [
            *page.warnings,
            f"“{page.path}” is over {max_body_bytes:,} bytes in storage format and has no heading left to split at",
        ]
        return [page]
    own_name = posixpath.basename(page.path)
    # Same-page links ("#install") now lead to other pages: written as links to the file, they are resolved like
    # links from elsewhere, to whichever part holds the heading.
    fragments = set(page.anchors) | {m.group(2) for line in kept for m in _SAME_PAGE_LINK.finditer(line)}
    kept = [_SAME_PAGE_LINK.sub(lambda m: f"{m.group(1)}{own_name}#{m.group(2)}", line) for line in kept]

    def with_definitions(section: list[str]) -> str:
        text = "\n".join(section).strip("\n")
        if not text.strip():
            return ""
        used = {m.group(1) for m in _FOOTNOTE_REFERENCE.finditer(text)}
        notes = [line for name, note in footnotes.items() if name in used for line in note]
        return "\n".join([text, "", *definitions, "", *notes]).rstrip() + "\n"

    sections = [kept[start:end] for start, end in zip(cuts, [*cuts[1:], len(kept)], strict=True)]
    parts: list[PlannedPage] = []
    for number, section in enumerate(sections, start=1):
        heading = first_heading("\n".join(section[:3])) or f"Part {number}"
        parts.append(
            PlannedPage(
                key=f"{page.key}.{number}" if "#" in page.key else f"{page.key}#{number}",
                path=page.path,
                title=_part_title(page.title, heading, titles),
                parent=page.key,
                position=number - 1,
                markdown=with_definitions(section),
                source_dir=page.source_dir,
                labels=list(page.labels),
                files=dict(page.files),
            )
        )
    page.markdown = with_definitions(kept[: cuts[0]])
    page.parts = [part.key for part in parts]
    _place_anchors(result, page, parts, fragments)
    ordered = [page]
    known = [*(pending or []), page, *parts]
    for part in parts:
        if _size(result, plan, part, space_key, known) > max_body_bytes:
            ordered.extend(
                _split(
                    result,
                    plan,
                    part,
                    space_key=space_key,
                    max_body_bytes=max_body_bytes,
                    titles=titles,
                    pending=known,
                )
            )
        else:
            ordered.append(part)
    return ordered


def _heading_lines(lines: list[str]) -> list[tuple[int, int]]:
    """(line index, level) of every heading outside fenced code: ATX, and setext (a one-line paragraph underlined
    with = or -; the heading starts at the text's line)."""
    found: list[tuple[int, int]] = []
    previous: tuple[int, str] | None = None  # the line before, when it could be a setext heading's text
    for index, line, in_code in _outside_code(lines):
        if in_code:
            previous = None
            continue
        atx = _ATX.match(line)
        underline = _SETEXT.match(line)
        if atx is not None and atx.group(2):
            found.append((index, len(atx.group(1))))
        elif underline is not None and previous is not None:
            found.append((previous[0], 1 if underline.group(1).startswith("=") else 2))
        before = lines[index - 1] if index else ""
        starts_paragraph = not before.strip() and not _NOT_PARAGRAPH.match(line) and atx is None
        previous = (index, line) if starts_paragraph else None
    return found


def _outside_code(lines: list[str]) -> Iterator[tuple[int, str, bool]]:
    """Every line with whether it is inside fenced code (the fences themselves count as code)."""
    fence: str | None = None
    for index, line in enumerate(lines):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening is not None and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            yield index, line, True
            continue
        if opening is not None:
            fence = opening.group(1)
        yield index, line, fence is not None


def _cut_points(lines: list[str]) -> list[int]:
    """The lines to cut at: the headings of the highest level there is, except one on the first line (the page's
    own heading stays with its introduction)."""
    first = next((index for index, line in enumerate(lines) if line.strip()), 0)
    headings = [(index, level) for index, level in _heading_lines(lines) if index != first]
    if not headings:
        return []
    top = min(level for _, level in headings)
    return [index for index, level in headings if level == top]


def _shared_definitions(lines: list[str]) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """Link reference definitions (every part gets them all), footnote definitions (each part gets those it uses),
    and the remaining lines."""
    definitions: list[str] = []
    footnotes: dict[str, list[str]] = {}
    kept: list[str] = []
    current: list[str] | None = None
    for _, line, in_code in _outside_code(lines):
        if in_code:
            current = None
            kept.append(line)
            continue
        if current is not None and (line.startswith(("    ", "\t")) or not line.strip()):
            current.append(line)
            continue
        current = None
        note = _FOOTNOTE_DEFINITION.match(line)
        if note is not None:
            current = footnotes.setdefault(note.group(1), [])
            current.append(line)
        elif _LINK_DEFINITION.match(line):
            definitions.append(line)
        else:
            kept.append(line)
    return definitions, footnotes, kept


def _part_title(page_title: str, heading: str, titles: set[str]) -> str:
    base = _clip(f"{page_title}: {heading}")
    title, counter = base, 2
    while title.casefold() in titles:
        title = _clip(f"{page_title}: {heading} ({counter})")
        counter += 1
    titles.add(title.casefold())
    return title


def _place_anchors(result: Plan, page: PlannedPage, parts: list[PlannedPage], fragments: set[str]) -> None:
    """Each fragment wanted of the split page goes to the part (or the parent's intro) that has its heading."""
    remaining = {unquote(f).lower(): f for f in fragments}
    page.anchors = set()
    for holder in [page, *parts]:
        holder.anchors = set(remaining.values())
        planted = _planted(holder) if holder.markdown else set()
        holder.anchors = {remaining[key] for key in planted}
        for key in planted:
            result.anchor_homes[(page.key, key)] = holder.key
            remaining.pop(key)
    # Links to the split page's parts (from its parent, or a part of a part) resolve through the page's own key.
    root_key = page.key.split("#", 1)[0]
    for key, holder_key in list(result.anchor_homes.items()):
        if key[0] == page.key and root_key != page.key:
            result.anchor_homes[(root_key, key[1])] = holder_key

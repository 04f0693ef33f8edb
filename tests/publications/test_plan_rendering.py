"""The planner hands on what it rendered: a plan made with a rendering gives every page exactly as render_page renders
it from a plan made without one (body, attachments, labels, warnings), and tells the same links, anchors and files.
Pages that need what only the whole bundle tells (links to headings of other pages, anchors other pages want, a
diagram, two files of one base name) are rendered again; every other page is converted once."""

from __future__ import annotations

import pytest

from confluence.converter import Diagrams, MathMacros
from publications.bundle import BundleLimits, read_bundle
from publications.plan import Plan, Rendering, plan_bundle, render_page, split_oversized
from tests.publications.archives import make_zip
from tests.publications.trees import PNG, docs_tree, handbook


class CountingRenderer:
    """A diagram renderer that draws every diagram as the same tiny PNG and counts how often it is asked."""

    def __init__(self) -> None:
        self.calls = 0

    def render(self, source: str) -> bytes:
        self.calls += 1
        return PNG + source.encode()


def extras(root: str = "handbook/") -> dict[str, bytes]:
    files = {
        "diagrams.md": b"# Diagrams\n\n```mermaid\ngraph TD; A-->B\n```\n\nAnd $x^2$ inline.\n",
        "math.md": b"# Math\n\n## Formula\n\n$$\ne = mc^2\n$$\n\nSee [the FAQ](faq.md) and ![gone](img/missing.png).\n",
        "renamed.md": b"# Renamed\n\n![a](a/pic.png) ![b](b/pic.png) ![a again](a/pic.png)\n",
        # Ways of writing a link to a heading of another page (the entities lead nowhere: they are not decoded).
        "forms.md": b"# Forms\n\n[a](<math.md#formula>) [b][ref] <a href=\"math.md#formula\">c</a> [d](math.md&#35;formula) "
        b"[e](math.md&num;formula) [f](math.md\\#formula)\n\n[ref]: math.md#formula\n",
        "a/pic.png": PNG + b"a",
        "b/pic.png": PNG + b"b",
    }
    return {root + path: data for path, data in files.items()}


def bundle(files: dict[str, bytes]):
    return read_bundle(make_zip(files), limits=BundleLimits())


def assert_same_pages(rendered: Plan, plain: Plan, rendering: Rendering) -> None:
    assert [page.key for page in rendered.pages] == [page.key for page in plain.pages]
    assert rendered.broken_links == plain.broken_links
    assert rendered.anchor_homes == plain.anchor_homes
    for page in rendered.pages:
        other = plain.page(page.key)
        expected = render_page(
            plain, other, space_key=rendering.space_key, math=rendering.math, diagrams=rendering.diagrams
        )
        assert rendered.render(page) == expected, page.key
        assert (page.files, page.anchors) == (other.files, other.anchors), page.key


@pytest.mark.parametrize(("tree", "root"), [(handbook, "handbook/"), (docs_tree, "")])
def test_every_page_is_as_render_page_renders_it(tree, root: str) -> None:
    renderer = CountingRenderer()
    rendering = Rendering(space_key="DOCS", math=MathMacros(), diagrams=Diagrams(mermaid=renderer))
    files = {**tree(), **extras(root)}
    rendered = plan_bundle(bundle(files), rendering=rendering)
    assert_same_pages(rendered, plan_bundle(bundle(files)), rendering)


def test_only_pages_that_need_the_whole_plan_are_rendered_again() -> None:
    renderer = CountingRenderer()
    rendering = Rendering(space_key="DOCS", math=MathMacros(), diagrams=Diagrams(mermaid=renderer))
    plan = plan_bundle(bundle({**handbook(), **extras()}), rendering=rendering)
    assert renderer.calls == 0  # diagrams are drawn by the page threads, for the pages written

    again = {page.key.removeprefix("handbook/") for page in plan.pages if page.key not in plan.rendered}
    assert again == {
        # folders without an index page: a fixed body, nothing to convert
        "ops/", "ops/runbooks/", "reference/", "team/",
        # link to a heading of another page
        "getting-started.md", "faq.md", "guide/install.md", "guide/configure.md", "reference/api/endpoints.md",
        "reference/api/auth.md", "forms.md",
        # two files of one base name: the first one's name changed when the second came
        "guide/index.md", "renamed.md",
        "diagrams.md",
    }
    plan.render(plan.page("handbook/diagrams.md"))
    assert renderer.calls == 1
    # A page others link to a heading of, read once those links were known: rendered in full with its anchor.
    assert '<ac:parameter ac:name="">formula</ac:parameter>' in plan.rendered["handbook/math.md"].body
    assert plan.render(plan.page("handbook/forms.md")).body.count('ac:anchor="formula"') == 4  # &#35; and &num; are not decoded


def test_a_split_page_and_its_parts_are_rendered_from_the_split_plan() -> None:
    sections = "\n\n".join(f"## Section {n}\n\n" + "Words and more words. " * 400 for n in range(1, 6))
    files = {
        "manual/big.md": f"# Big\n\nIntro, see [section 2](#section-2).\n\n{sections}\n".encode(),
        "manual/other.md": b"# Other\n\nSee [section 4](big.md#section-4) and [the big one](big.md).\n",
        "manual/plain.md": b"# Plain\n\nSee [the big one](big.md).\n",
    }
    rendering = Rendering(space_key="DOCS")
    rendered = split_oversized(plan_bundle(bundle(files), rendering=rendering), space_key="DOCS", max_body_bytes=20_000)
    plain = split_oversized(plan_bundle(bundle(files)), space_key="DOCS", max_body_bytes=20_000)
    assert len(rendered.pages) > 3
    assert_same_pages(rendered, plain, rendering)
    assert set(rendered.rendered) == {"manual/plain.md"}

"""Any tree of Markdown files plans without surprises: a BundleError or a plan whose pages come parents first and
render to well-formed storage, also after splitting at a size so small that nearly every page is cut."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from confluence.standin.storage import parse_storage
from publications.bundle import BundleError, BundleLimits, read_bundle
from publications.plan import Plan, plan_bundle, render_page, split_oversized
from tests.publications.archives import make_zip

NAMES = ["README.md", "index.md", "a.md", "b.md", "Setup.md", "img/x.png", "c d.md"]
FOLDERS = ["", "guide/", "guide/deep/", "ref/"]
TARGETS = [f"{folder}{name}" for folder in FOLDERS for name in NAMES]
PIECES = [
    "## Install\n\n",
    "### Detail\n\n",
    "Setext\n------\n\n",
    "text ",
    "\n\n",
    "[^1] ",
    "\n\n[^1]: note\n",
    "```\n# not a heading\n```\n",
    "[x](#install) ",
    "[r][ref]\n\n[ref]: a.md#install\n",
    "![i](img/x.png) ",
    "[up](../) ",
    "[root](/README.md) ",
    "[out](../../../x.md) ",
    "[web](https://e.com/a.md) ",
    "- [ ] task\n",
    *(f"[l]({target}) " for target in TARGETS),
    *(f"[l](../{target}#install) " for target in TARGETS[:7]),
]
FRONT = [
    "",
    "",
    "",
    "---\nweight: 2\n---\n",
    "---\ntitle: Same\n---\n",
    "---\nparent: /a.md\n---\n",
    "---\nparent: b.md\n---\n",
]

documents = st.dictionaries(
    st.sampled_from(TARGETS),
    st.tuples(st.sampled_from(FRONT), st.sampled_from([True, True, True, False]), st.lists(st.sampled_from(PIECES), max_size=25)),
    min_size=1,
    max_size=12,
)


def check(plan: Plan) -> None:
    seen: set[str] = set()
    for page in plan.pages:
        assert page.parent is None or page.parent in seen, page.key
        seen.add(page.key)
        rendered = render_page(plan, page, space_key="K")
        parse_storage(rendered.body)
        for attachment in rendered.attachments:
            assert f'ri:filename="{attachment.name}"' in rendered.body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_tree_plans_renders_and_splits(files: dict[str, tuple[str, bool, list[str]]]) -> None:
    # A heading of its own per file (or none, and the file name is the title), so most trees get past the
    # unique-title rule and are planned.
    content = {
        path: b"\x89PNG"
        if path.endswith(".png")
        else (front + (f"# Page {path}\n\n" if heading else "") + "".join(pieces)).encode()
        for path, (front, heading, pieces) in files.items()
    }
    if not any(path.endswith(".md") for path in content):
        content["a.md"] = b"# A"
    try:
        bundle = read_bundle(make_zip(content), limits=BundleLimits())
        plan = plan_bundle(bundle)
    except BundleError as error:
        assert error.code == "bundle_invalid" and error.message
        event("refused")
        return
    event("planned")
    check(plan)
    check(split_oversized(plan, space_key="K", max_body_bytes=400))

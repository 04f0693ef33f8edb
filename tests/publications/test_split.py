"""A page over Confluence's size becomes a parent and children cut at its headings, with links that still work:
from the parent to its parts, between parts, and from other pages to a heading that moved into a part."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest
import requests

from confluence.client import ConfluenceClient
from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN, StandinServer
from confluence.standin.storage import parse_storage
from publications.bundle import BundleLimits, read_bundle
from publications.plan import Plan, plan_bundle, render_page, split_oversized
from tests.publications.archives import make_zip
from tests.publications.test_plan import publish

LIMIT = 1_000_000
WORDS = [
    "deploy",
    "node",
    "cluster",
    "backup",
    "restore",
    "metric",
    "alert",
    "queue",
    "worker",
    "token",
    "index",
    "shard",
    "replica",
    "latency",
]


def paragraph(seed: int) -> str:
    """About 800 bytes of prose that compresses like prose (a bundle compressing 100:1 is refused as a bomb)."""
    chooser = random.Random(seed)
    words = [chooser.choice(WORDS) + str(chooser.randrange(1000)) for _ in range(100)]
    words[3], words[9] = f"**{words[3]}**", f"`{words[9]}`"
    return " ".join(words) + "."


def section(number: int, size: int) -> str:
    lines = [
        f"## Section {number}",
        "",
        f"Back to [the first section](#section-1); on to [the next](#section-{number + 1}).",
    ]
    if number == 3:
        lines += ["", "![chart](img/chart.png) with a note[^source]."]
    if number == 12:
        # Too big on its own: cut again at its ### headings.
        details = ("\n\n".join(paragraph(number * 1000 + n * 100 + k) for k in range(180)) for n in range(1, 9))
        lines += ["", *(f"### Detail {n}\n\n{text}\n" for n, text in enumerate(details, start=1))]
    while sum(len(line) + 1 for line in lines) < size:
        lines += ["", paragraph(number * 100_000 + len(lines))]
    return "\n".join(lines)


def big_document() -> str:
    intro = "# Operations manual\n\nRead [Section 7](#section-7) first. See [the guide][guide].\n"
    body = "\n\n".join(section(n, 65_000) for n in range(1, 31))
    notes = "\n[guide]: other.md\n\n[^source]: Our own measurements.\n"
    return f"{intro}\n{body}\n{notes}"


@pytest.fixture(scope="module")
def split() -> tuple[Plan, Plan]:
    document = big_document()
    assert 3_000_000 <= len(document.encode()) <= 3_600_000
    files = {
        "manual/big.md": document.encode(),
        "manual/other.md": b"# Other\n\nSee [section 20](big.md#section-20) and [detail 5](big.md#detail-5).\n",
        "manual/img/chart.png": b"\x89PNG chart",
    }
    planned = plan_bundle(read_bundle(make_zip(files), limits=BundleLimits()))
    return planned, split_oversized(planned, space_key="DOCS", max_body_bytes=LIMIT)


def test_a_3_mb_page_becomes_a_parent_with_a_child_per_section(split: tuple[Plan, Plan]) -> None:
    planned, after = split
    assert [p.key for p in planned.pages] == ["manual/", "manual/big.md", "manual/other.md"]
    keys = [p.key for p in after.pages]
    parts = [f"manual/big.md#{n}" for n in range(1, 31)]
    details = [f"manual/big.md#12.{n}" for n in range(1, 9)]
    assert keys == ["manual/", "manual/big.md", *parts[:12], *details, *parts[12:], "manual/other.md"]
    parent = after.page("manual/big.md")
    assert parent.title == "Operations manual" and parent.parts == parts
    first = after.page("manual/big.md#1")
    assert (first.title, first.parent, first.position) == ("Operations manual: Section 1", "manual/big.md", 0)
    assert after.page("manual/big.md#12.3").parent == "manual/big.md#12"
    assert after.page("manual/other.md").position == 1  # unchanged: other.md is a sibling of big.md, not a child
    for page in after.pages:
        rendered = render_page(after, page, space_key="DOCS")
        assert len(rendered.body.encode()) <= LIMIT, page.key
        parse_storage(rendered.body)
    assert planned.page("manual/big.md").parts == []  # the plan given is left as it was


def test_the_parent_keeps_its_intro_and_links_to_every_part(split: tuple[Plan, Plan]) -> None:
    _, after = split
    body = render_page(after, after.page("manual/big.md"), space_key="DOCS").body
    assert body.startswith("<p>Read ")
    titles = re.findall(r'<li><ac:link><ri:page ri:space-key="DOCS" ri:content-title="([^"]+)"/>', body)
    assert titles == [f"Operations manual: Section {n}" for n in range(1, 31)]
    # The intro's own "#section-7" now leads to the part that holds it, and its reference link still resolves.
    assert '<ac:link ac:anchor="section-7"><ri:page ri:content-title="Operations manual: Section 7"' in body
    assert '<ri:page ri:content-title="Other" ri:space-key="DOCS">' in body


def test_links_between_parts_and_from_other_pages_follow_the_heading(split: tuple[Plan, Plan]) -> None:
    _, after = split
    five = render_page(after, after.page("manual/big.md#5"), space_key="DOCS").body
    assert '<ac:link ac:anchor="section-1"><ri:page ri:content-title="Operations manual: Section 1"' in five
    assert '<ac:link ac:anchor="section-6"><ri:page ri:content-title="Operations manual: Section 6"' in five
    assert '<ac:parameter ac:name="">section-5</ac:parameter>' in five  # planted for the part before it
    other = render_page(after, after.page("manual/other.md"), space_key="DOCS").body
    assert '<ac:link ac:anchor="section-20"><ri:page ri:content-title="Operations manual: Section 20"' in other
    assert '<ac:link ac:anchor="detail-5"><ri:page ri:content-title="Operations manual: Section 12: Detail 5"' in (
        other
    )


def test_a_part_carries_its_images_and_footnotes(split: tuple[Plan, Plan]) -> None:
    _, after = split
    three = render_page(after, after.page("manual/big.md#3"), space_key="DOCS")
    assert [(a.name, a.data) for a in three.attachments] == [("chart.png", b"\x89PNG chart")]
    assert "Our own measurements." in three.body and 'ac:anchor="fn-source"' in three.body
    four = render_page(after, after.page("manual/big.md#4"), space_key="DOCS")
    assert four.attachments == [] and "Our own measurements." not in four.body


def test_a_page_with_no_heading_to_cut_at_stays_whole_with_a_warning() -> None:
    files = {"flat.md": ("# Flat\n\n" + " ".join(paragraph(n) for n in range(1500))).encode()}
    after = split_oversized(plan_bundle(read_bundle(make_zip(files), limits=BundleLimits())), space_key="K")
    assert [p.key for p in after.pages] == ["flat.md"]
    warnings = render_page(after, after.pages[0], space_key="K").warnings
    assert warnings == ["“flat.md” is over 1,000,000 bytes in storage format and has no heading left to split at"]


def test_setext_headings_are_cut_at_too() -> None:
    first = "\n\n".join(paragraph(n) for n in range(700))
    second = "\n\n".join(paragraph(n) for n in range(700, 1400))
    files = {"s.md": f"Manual\n======\n\nIntro.\n\nSetup\n-----\n\n{first}\n\nUsage\n-----\n\n{second}\n".encode()}
    after = split_oversized(plan_bundle(read_bundle(make_zip(files), limits=BundleLimits())), space_key="K")
    assert [(p.key, p.title) for p in after.pages] == [
        ("s.md", "Manual"),
        ("s.md#1", "Manual: Setup"),
        ("s.md#2", "Manual: Usage"),
    ]
    assert render_page(after, after.pages[0], space_key="K").body.startswith("<p>Intro.</p>")


def test_part_titles_never_clash_with_other_pages() -> None:
    files = {
        "big.md": (
            "# Big\n\n## Setup\n\n"
            + "\n\n".join(paragraph(n) for n in range(700))
            + "\n\n## Usage\n\n"
            + "\n\n".join(paragraph(n) for n in range(700, 1400))
        ).encode(),
        "setup.md": b"---\ntitle: 'Big: Setup'\n---\ntext",
    }
    after = split_oversized(plan_bundle(read_bundle(make_zip(files), limits=BundleLimits())), space_key="K")
    assert [p.title for p in after.pages] == ["Big", "Big: Setup (2)", "Big: Usage", "Big: Setup"]


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinServer]:
    with StandinServer(port=0) as server:
        yield server


@pytest.mark.slow
def test_the_split_pages_publish_and_their_links_resolve(split: tuple[Plan, Plan], standin: StandinServer) -> None:
    _, after = split
    with ConfluenceClient(base_url=standin.url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN) as confluence:
        ids = publish(after, confluence, "DOCS")
    for key in ("manual/big.md", "manual/big.md#12", "manual/other.md"):
        html = requests.get(f"{standin.url}/wiki/spaces/DOCS/pages/{ids[key]}", timeout=10).text
        assert 'class="confluence-link" title=' not in html  # every page link found its page
    other = requests.get(f"{standin.url}/wiki/spaces/DOCS/pages/{ids['manual/other.md']}", timeout=10).text
    assert f"/pages/{ids['manual/big.md#20']}/" in other and "#anchor-section-20" in other

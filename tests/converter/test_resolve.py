"""The resolver hook: relative links and images handed to the caller, anchors planted for other pages; without a
resolver nothing changes."""

from __future__ import annotations

from collections.abc import Collection

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confluence.converter import AttachmentLink, LinkTarget, PageLink, TextOnly, convert

from .test_safety import PIECES
from .xml import parse

DOCUMENT = (
    "# Guide\n\n"
    "See [the **setup**](setup.md#Install-It), [spec](files/spec.pdf), [gone](../outside.md), [kept](other.txt), "
    "[web](https://example.com/x.md), [here](#usage), [mail](mailto:a@example.com).\n\n"
    "![flow](img/flow%20chart.png) ![lost](img/missing.png) ![remote](https://example.com/a.png)\n\n"
    "## Usage\n\ntext\n\n## Deep dive\n\ntext\n"
)


class Table:
    def __init__(self, anchors: Collection[str] = ()) -> None:
        self.asked: list[str] = []
        self.anchors = anchors

    def link(self, href: str) -> LinkTarget | None:
        self.asked.append(href)
        return {
            "setup.md#Install-It": PageLink("Set up", "DOCS", "Install-It"),
            "files/spec.pdf": AttachmentLink("spec.pdf"),
            "../outside.md": TextOnly(),
        }.get(href)

    def image(self, src: str) -> str | None:
        self.asked.append(src)
        return {"img/flow chart.png": "img_flow chart.png"}.get(src)

    def wanted_anchors(self) -> Collection[str]:
        return self.anchors


def test_without_a_resolver_the_output_is_unchanged() -> None:
    plain = convert(DOCUMENT)

    class Nothing(Table):
        def link(self, href: str) -> LinkTarget | None:
            return None

        def image(self, src: str) -> str | None:
            return src.rsplit("/", 1)[-1]

    assert convert(DOCUMENT, resolve=Nothing()).body == plain.body


def test_links_images_and_anchors_through_a_resolver() -> None:
    table = Table(anchors=["deep-dive", "not-a-heading"])
    converted = convert(DOCUMENT, resolve=table)
    parse(converted.body)  # well-formed
    body = converted.body
    # Only relative references are asked about: not absolute URLs, mail links or "#" links.
    assert table.asked == [
        "setup.md#Install-It",
        "files/spec.pdf",
        "../outside.md",
        "other.txt",
        "img/flow chart.png",
        "img/missing.png",
    ]
    assert (
        '<ac:link ac:anchor="install-it"><ri:page ri:content-title="Set up" ri:space-key="DOCS"></ri:page>'
        "<ac:link-body>the <strong>setup</strong></ac:link-body></ac:link>"
    ) in body
    assert (
        '<ac:link><ri:attachment ri:filename="spec.pdf"></ri:attachment><ac:link-body>spec</ac:link-body></ac:link>'
    ) in body
    # None keeps a link as the converter writes it without a resolver: a relative link to a file is a link to the
    # page's attachment of that name (what a single-page import relies on for a file it was not sent).
    assert "<span>gone</span>" in body
    kept = ('<ac:link><ri:attachment ri:filename="other.txt"></ri:attachment>'
            "<ac:plain-text-link-body><![CDATA[kept]]></ac:plain-text-link-body></ac:link>")
    assert kept in body and kept in convert(DOCUMENT).body
    assert '<a href="https://example.com/x.md">web</a>' in body
    assert '<ri:attachment ri:filename="img_flow chart.png"></ri:attachment>' in body
    assert "<span>lost</span>" in body  # an image with no file keeps its words
    assert '<ri:url ri:value="https://example.com/a.png"></ri:url>' in body
    # The anchor another page wants is planted at its heading, beside the one this page's own link wants.
    assert '<ac:parameter ac:name="">deep-dive</ac:parameter></ac:structured-macro>Deep dive</h2>' in body
    assert '<ac:parameter ac:name="">usage</ac:parameter></ac:structured-macro>Usage</h2>' in body
    assert "not-a-heading" not in body
    assert converted.attachments == ["other.txt", "img/flow chart.png"]


def test_a_link_without_words_shows_the_target_name() -> None:
    body = convert("[](setup.md#Install-It)", resolve=Table()).body
    assert body == (
        '<p><ac:link ac:anchor="install-it"><ri:page ri:content-title="Set up" ri:space-key="DOCS"></ri:page>'
        "</ac:link></p>"
    )


def test_wanted_anchors_alone_are_planted() -> None:
    body = convert("# T\n\n## Install\n\nx\n", resolve=Table(anchors=["install"])).body
    assert '<h2><ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">install</ac:parameter>' in body


# ---------------------------------------------------------------------- properties

LINK_PIECES = [
    "[a](b.md)",
    "[a](./b%20c.md#x)",
    "[**a**](../b.md)",
    "![i](img/x.png)",
    '![](x.png "t")',
    "[a](#x)",
    "[a](https://e.com/b.md)",
    '<a href="b.md">h</a>',
    '<img src="y.png">',
    "[a][r]",
    "\n\n[r]: b.md#y\n",
    "## X\n",
    "## Y\n",
    "[a](<b c.md>)",
    "[](b.md)",
    "[a](b.md 'T')",
    "![a](img/x.png)](c.md)",
]
linked_like = st.lists(st.sampled_from(LINK_PIECES + PIECES), max_size=40).map("".join)


class Declines:
    def link(self, href: str) -> LinkTarget | None:
        return None

    def image(self, src: str) -> str | None:
        return src.rsplit("/", 1)[-1]

    def wanted_anchors(self) -> Collection[str]:
        return ()


class Hostile:
    """Every reference resolved to names full of markup characters."""

    def __init__(self) -> None:
        self.turn = 0

    def link(self, href: str) -> LinkTarget | None:
        self.turn += 1
        choices: list[LinkTarget] = [
            PageLink("T \"q\" <b> & 's' ]]>", "K&<", "x y&z"),
            AttachmentLink('f "q" <x> & ]]>.pdf'),
            TextOnly(),
        ]
        return choices[self.turn % 3]

    def image(self, src: str) -> str | None:
        return 'i "q" <x> & ]]>.png' if "x" in src else None

    def wanted_anchors(self) -> Collection[str]:
        return ["x", "y", "a&b<c", "]]>"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linked_like)
def test_a_resolver_that_declines_changes_nothing(markdown: str) -> None:
    assert convert(markdown, resolve=Declines()) == convert(markdown)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linked_like)
def test_resolved_output_is_always_well_formed(markdown: str) -> None:
    parse(convert(markdown, resolve=Hostile()).body)

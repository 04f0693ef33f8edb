"""Planning a bundle: the tree from folders, titles, order, links by title with their anchors, attachments with
names unique per page; the bundle errors planning finds; and the rendered pages published to the stand-in, where
every link and image resolves."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
import requests

from confluence.client import ConfluenceClient
from confluence.standin import DEFAULT_EMAIL, DEFAULT_TOKEN, StandinServer
from confluence.standin.storage import parse_storage
from publications.bundle import Bundle, BundleError, BundleLimits, read_bundle
from publications.plan import BrokenLink, Plan, plan_bundle, render_page
from tests.publications.archives import make_tar, make_zip
from tests.publications.trees import handbook


def bundle_of(files: dict[str, bytes]) -> Bundle:
    return read_bundle(make_zip(files), limits=BundleLimits())


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_bundle(bundle_of(handbook()))


def outline(plan: Plan) -> list[tuple[int, str, str]]:
    """(depth, key, title) in plan order."""
    depth: dict[str | None, int] = {None: -1}
    rows = []
    for page in plan.pages:
        depth[page.key] = depth[page.parent] + 1
        rows.append((depth[page.key], page.key.removeprefix("handbook/"), page.title))
    return rows


def test_folders_become_parents_in_file_order(plan: Plan) -> None:
    assert outline(plan) == [
        (0, "README.md", "Handbook"),
        (1, "getting-started.md", "Getting started"),  # weight 1 comes first
        (1, "faq.md", "Frequently asked questions"),  # front matter title over the heading
        (1, "guide/index.md", "Guide"),
        (2, "guide/install.md", "Install"),
        (2, "guide/configure.md", "Configure"),  # a setext heading
        (2, "guide/upgrade.md", "Upgrade"),
        (1, "ops/", "Ops"),  # a folder without index.md or README.md gets a page of its own
        (2, "ops/monitoring.md", "Monitoring"),
        (2, "ops/runbooks/", "Runbooks"),
        (3, "ops/runbooks/backup.md", "Backup"),
        (3, "ops/runbooks/restart.md", "Restart"),
        (3, "ops/runbooks/restore.md", "Restore"),
        (1, "reference/", "Reference"),
        (2, "reference/api/README.md", "API"),
        (3, "reference/api/auth.md", "Authentication"),
        (3, "reference/api/endpoints.md", "Endpoints"),
        (3, "reference/api/errors.md", "Errors"),
        (2, "reference/cli.md", "Command line"),
        (2, "reference/config-file.md", "Configuration file"),  # "# not a heading" inside a fence is code
        (1, "release-notes/README.md", "Release notes"),
        (2, "release-notes/1.md", "Version 1"),
        (2, "release-notes/2.md", "Version 2"),
        (2, "release-notes/10.md", "Version 10"),  # numbers compare as numbers
        (1, "team/", "Team"),
        (2, "team/hiring.md", "Hiring"),
        (2, "team/members.md", "Members"),
        (2, "team/on-call.md", "On call"),  # no heading: the file name, prettified
    ]
    positions = {page.key.removeprefix("handbook/"): page.position for page in plan.pages}
    assert [positions[k] for k in ("getting-started.md", "faq.md", "guide/index.md", "ops/", "team/")] == [
        0,
        1,
        2,
        3,
        6,
    ]
    made_up = plan.page("handbook/ops/")
    assert (made_up.path, made_up.source_dir, made_up.markdown) == (None, "handbook/ops", "")


def test_links_that_lead_nowhere_are_reported(plan: Plan) -> None:
    assert plan.broken_links == [
        BrokenLink("handbook/team/members.md", "../../../outside.md", "the Markdown file is outside the bundle"),
        BrokenLink("handbook/team/members.md", "missing.md", "“handbook/team/missing.md” is not in the bundle"),
    ]


def test_a_page_links_to_others_by_title_with_anchors_they_plant(plan: Plan) -> None:
    configure = render_page(plan, plan.page("handbook/guide/configure.md"), space_key="DOCS")
    assert (
        '<ac:link ac:anchor="get-items"><ri:page ri:content-title="Endpoints" ri:space-key="DOCS"></ri:page>'
        "<ac:link-body>GET items</ac:link-body></ac:link>"
    ) in configure.body
    assert '<ri:page ri:content-title="Command line" ri:space-key="DOCS">' in configure.body
    # Two pages link to #options here: the anchor is planted once, at the heading.
    assert configure.body.count('<ac:parameter ac:name="">options</ac:parameter>') == 1
    getting_started = render_page(plan, plan.page("handbook/getting-started.md"), space_key="DOCS")
    assert '<ac:link ac:anchor="requirements"><ri:page ri:content-title="Install"' in getting_started.body
    readme = render_page(plan, plan.page("handbook/README.md"), space_key="DOCS")
    assert '<ri:page ri:content-title="Guide" ri:space-key="DOCS">' in readme.body  # "guide/" is its index page
    upgrade = render_page(plan, plan.page("handbook/guide/upgrade.md"), space_key="DOCS")
    assert '<ri:page ri:content-title="Release notes"' in upgrade.body  # README.md -> the folder's page
    faq = render_page(plan, plan.page("handbook/faq.md"), space_key="DOCS")
    assert '<ri:page ri:content-title="Team"' in faq.body  # a folder without index: its made-up page
    assert faq.labels == ["faq", "help"]
    assert "<h1>FAQ</h1>" in faq.body  # not the title, so kept
    members = render_page(plan, plan.page("handbook/team/members.md"), space_key="DOCS")
    assert "<span>Lost</span>" in members.body and "<span>gone</span>" in members.body
    assert members.warnings == [
        "link to ../../../outside.md: the Markdown file is outside the bundle",
        "link to missing.md: “handbook/team/missing.md” is not in the bundle",
    ]


def test_attachments_are_named_uniquely_per_page(plan: Plan) -> None:
    files = handbook()

    def attached(key: str) -> list[tuple[str, str, bytes]]:
        rendered = render_page(plan, plan.page(key), space_key="DOCS")
        for attachment in rendered.attachments:
            assert attachment.sha256 == hashlib.sha256(attachment.data).hexdigest()
            assert f'ri:filename="{attachment.name}"' in rendered.body
        return [(a.name, a.media_type, a.data) for a in rendered.attachments]

    # Two files called logo.png on one page: each is named after its path from the page's folder.
    assert attached("handbook/guide/index.md") == [
        ("img_logo.png", "image/png", files["handbook/guide/img/logo.png"]),
        ("PAR_img_logo.png", "image/png", files["handbook/img/logo.png"]),
    ]
    assert attached("handbook/README.md") == [("logo.png", "image/png", files["handbook/img/logo.png"])]
    assert attached("handbook/reference/api/README.md") == [
        ("flow.svg", "image/svg+xml", files["handbook/reference/api/diagrams/flow.svg"])
    ]
    assert attached("handbook/ops/runbooks/backup.md") == [
        ("backup spec.pdf", "application/pdf", files["handbook/ops/runbooks/files/backup spec.pdf"])
    ]
    assert attached("handbook/ops/runbooks/restore.md") == [
        ("screen.png", "image/png", files["handbook/guide/img/screen.png"])
    ]
    assert attached("handbook/team/hiring.md") == [("group.jpg", "image/jpeg", files["handbook/team/photos/group.jpg"])]
    assert attached("handbook/team/on-call.md") == []


def test_every_rendered_page_is_well_formed_storage(plan: Plan) -> None:
    for page in plan.pages:
        parse_storage(render_page(plan, page, space_key="DOCS").body)


def test_folder_pages_list_their_children(plan: Plan) -> None:
    rendered = render_page(plan, plan.page("handbook/ops/"), space_key="DOCS")
    assert 'ac:name="children"' in rendered.body and rendered.attachments == [] and rendered.warnings == []


def test_the_same_tree_from_a_tar_gz_plans_the_same(plan: Plan) -> None:
    again = plan_bundle(read_bundle(make_tar(handbook()), limits=BundleLimits()))
    assert outline(again) == outline(plan)


# ---------------------------------------------------------------------- rules at the edges


def test_bundle_root_files_without_an_index_are_roots() -> None:
    planned = plan_bundle(bundle_of({"b.md": b"# B", "a.md": b"# A", "sub/c.md": b"# C"}))
    assert [(p.key, p.parent, p.position) for p in planned.pages] == [
        ("a.md", None, 0),
        ("b.md", None, 1),
        ("sub/", None, 2),
        ("sub/c.md", "sub/", 0),
    ]


def test_index_md_wins_over_readme_md_which_becomes_a_child() -> None:
    planned = plan_bundle(bundle_of({"d/index.md": b"# Index", "d/README.md": b"# Readme", "d/x.md": b"# X"}))
    assert [(p.key, p.parent) for p in planned.pages] == [
        ("d/index.md", None),
        ("d/README.md", "d/index.md"),
        ("d/x.md", "d/index.md"),
    ]


def test_links_with_encoded_spaces_dot_slash_and_root_paths() -> None:
    planned = plan_bundle(
        bundle_of(
            {
                "docs/a.md": b"# A\n\n[b](./sub%20dir/b%20file.md) [root](/docs/sub%20dir/b%20file.md#Part-One) "
                b"[q](sub%20dir/b%20file.md?plain=1#part-one) [case](Sub%20Dir/b%20file.md)",
                "docs/sub dir/b file.md": b"# B file\n\n## Part one\n",
            }
        )
    )
    body = render_page(planned, planned.page("docs/a.md"), space_key="K").body
    assert body.count('<ri:page ri:content-title="B file" ri:space-key="K">') == 3
    assert body.count('ac:anchor="part-one"') == 2
    assert planned.broken_links == [
        BrokenLink(
            "docs/a.md",
            "Sub%20Dir/b%20file.md",
            "“docs/Sub Dir/b file.md” is not in the bundle (the bundle has “docs/sub dir/b file.md”: "
            "names are case-sensitive)",
        )
    ]


def test_a_missing_anchor_is_reported_and_the_link_opens_the_page() -> None:
    planned = plan_bundle(bundle_of({"a.md": b"# A\n\n[x](b.md#nowhere)", "b.md": b"# B\n\n## Somewhere\n"}))
    assert planned.broken_links == [BrokenLink("a.md", "b.md#nowhere", "“b.md” has no heading #nowhere")]
    rendered = render_page(planned, planned.page("a.md"), space_key="K")
    assert '<ac:link><ri:page ri:content-title="B"' in rendered.body
    assert rendered.warnings == ["link to b.md#nowhere: “b.md” has no heading #nowhere"]
    assert "nowhere" not in render_page(planned, planned.page("b.md"), space_key="K").body


def test_a_missing_image_keeps_its_words_and_warns() -> None:
    planned = plan_bundle(bundle_of({"a.md": b"# A\n\n![the flow](img/flow.png)"}))
    rendered = render_page(planned, planned.page("a.md"), space_key="K")
    assert "<span>the flow</span>" in rendered.body and rendered.attachments == []
    assert rendered.warnings == ["image img/flow.png: “img/flow.png” is not in the bundle"]
    assert planned.broken_links == [BrokenLink("a.md", "img/flow.png", "“img/flow.png” is not in the bundle")]


def test_front_matter_parent_moves_a_page() -> None:
    planned = plan_bundle(bundle_of({"a.md": b"# A", "b/x.md": b"---\nparent: ../a.md\n---\n# X", "b/y.md": b"# Y"}))
    assert {p.key: p.parent for p in planned.pages} == {"a.md": None, "b/": None, "b/x.md": "a.md", "b/y.md": "b/"}


def test_non_utf8_markdown_is_refused_naming_the_file() -> None:
    with pytest.raises(BundleError) as caught:
        plan_bundle(bundle_of({"ok.md": b"# ok", "docs/latin1.md": "# Caf\u00e9".encode("latin-1")}))
    assert caught.value.code == "bundle_invalid" and caught.value.path == "docs/latin1.md"
    assert "docs/latin1.md" in caught.value.message and "UTF-8" in caught.value.message


def test_two_pages_with_one_title_are_refused_naming_both() -> None:
    with pytest.raises(BundleError) as caught:
        plan_bundle(bundle_of({"a/setup.md": b"# Setup", "b/install.md": b"---\ntitle: setup\n---\ntext"}))
    message = caught.value.message
    assert caught.value.code == "bundle_invalid" and "a/setup.md" in message and "b/install.md" in message


def test_a_cycle_of_front_matter_parents_is_refused() -> None:
    with pytest.raises(BundleError) as caught:
        plan_bundle(
            bundle_of(
                {
                    "a.md": b"---\nparent: c.md\n---\n# A",
                    "b.md": b"---\nparent: a.md\n---\n# B",
                    "c.md": b"---\nparent: b.md\n---\n# C",
                }
            )
        )
    assert caught.value.code == "bundle_invalid" and "cycle" in caught.value.message
    assert all(name in caught.value.message for name in ("a.md", "b.md", "c.md"))


def test_a_parent_that_is_not_in_the_bundle_is_refused() -> None:
    with pytest.raises(BundleError) as caught:
        plan_bundle(bundle_of({"a.md": b"---\nparent: nowhere.md\n---\n# A"}))
    assert caught.value.path == "a.md" and "nowhere.md" in caught.value.message


# ---------------------------------------------------------------------- published to the stand-in


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinServer]:
    with StandinServer(port=0) as server:
        yield server


def publish(plan: Plan, confluence: ConfluenceClient, space_key: str) -> dict[str, str]:
    """The simplest publication: every page in plan order under its parent, then its attachments."""
    space = confluence.space(space_key)
    ids: dict[str, str] = {}
    for page in plan.pages:
        rendered = render_page(plan, page, space_key=space_key)
        parent = ids[page.parent] if page.parent else space.homepage_id
        created = confluence.create_page(space_id=space.id, title=page.title, body=rendered.body, parent_id=parent)
        ids[page.key] = created.id
        for attachment in rendered.attachments:
            confluence.upload_attachment(
                created.id,
                filename=attachment.name,
                data=attachment.data,
                media_type=attachment.media_type,
                comment=attachment.sha256,
            )
    return ids


def test_published_pages_resolve_every_link_and_image(plan: Plan, standin: StandinServer) -> None:
    with ConfluenceClient(base_url=standin.url, email=DEFAULT_EMAIL, api_token=DEFAULT_TOKEN) as confluence:
        ids = publish(plan, confluence, "DOCS")
    assert standin.stats()["writes"]["page_versions"] == len(plan.pages) == 28
    for key, page_id in ids.items():
        page = standin.state.pages[int(page_id)]
        expected_parent = ids.get(plan.page(key).parent or "") or standin.state.spaces[page.space_id].homepage_id
        assert page.parent_id == int(expected_parent)
        html = requests.get(f"{standin.url}/wiki/spaces/DOCS/pages/{page_id}", timeout=5).text
        # A link the view could not resolve has no href; an image it could not find is a placeholder.
        assert 'class="confluence-link" title=' not in html, key
        assert "[image:" not in html, key
        for href in re.findall(r'<a class="confluence-link" href="([^"#]+)', html):
            assert requests.get(f"{standin.url}{href}", timeout=5).status_code == 200
        for src in re.findall(r'<img src="(/wiki/download/[^"]+)"', html):
            assert requests.get(f"{standin.url}{src.replace('&amp;', '&')}", timeout=5).status_code == 200
    configure = requests.get(f"{standin.url}/wiki/spaces/DOCS/pages/{ids['handbook/guide/configure.md']}", timeout=5)
    assert f'/pages/{ids["handbook/reference/api/endpoints.md"]}/Endpoints#anchor-get-items">GET items</a>' in (
        configure.text
    )

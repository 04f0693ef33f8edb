"""What the import takes from the converter beyond the body: the page width from the front matter, the math
macros the settings name."""

import pytest
from django.test import override_settings

from tests.imports.conftest import page_titled, post_import

pytestmark = pytest.mark.django_db

WIDE = "---\nlayout: wide\n---\nWide text.\n"


def appearance(page):
    return {key: page.properties[key].value for key in page.properties if key.startswith("content-appearance")}


def test_front_matter_width_sets_the_appearance_properties(api, standin):
    created = post_import(api, {"spaceId": "DOCS", "pageTitle": "Wide", "content": WIDE})
    assert created.status_code == 201, created.content
    page = page_titled(standin, "DOCS", "Wide")
    assert appearance(page) == {"content-appearance-draft": "full-width", "content-appearance-published": "full-width"}

    # Only the width changes: the page is updated, and both properties follow.
    narrow = WIDE.replace("wide", "fixed-width")
    updated = post_import(api, {"spaceId": "DOCS", "pageTitle": "Wide", "content": narrow, "overwrite": True})
    assert updated.json()["status"] == "updated"
    page = page_titled(standin, "DOCS", "Wide")
    assert appearance(page) == {"content-appearance-draft": "fixed-width", "content-appearance-published": "fixed-width"}
    assert page.properties["content-appearance-published"].version == 2

    again = post_import(api, {"spaceId": "DOCS", "pageTitle": "Wide", "content": narrow, "overwrite": True})
    assert again.json()["status"] == "unchanged"


def test_a_page_without_a_width_gets_no_appearance_property(api, standin):
    post_import(api, {"spaceId": "DOCS", "pageTitle": "Plain", "content": "Text"})
    assert appearance(page_titled(standin, "DOCS", "Plain")) == {}


def test_math_becomes_the_configured_macros(api, standin):
    content = "Energy: $E = mc^2$.\n"
    post_import(api, {"spaceId": "DOCS", "pageTitle": "Plain math", "content": content})
    assert "<code>E = mc^2</code>" in page_titled(standin, "DOCS", "Plain math").body
    with override_settings(MATH_MACROS="mathjax-block-macro,mathjax-inline-macro,equation"):
        post_import(api, {"spaceId": "DOCS", "pageTitle": "Math", "content": content})
    assert ('<ac:structured-macro ac:name="mathjax-inline-macro"><ac:parameter ac:name="equation">E = mc^2'
            "</ac:parameter></ac:structured-macro>") in page_titled(standin, "DOCS", "Math").body

"""One space-key grammar: a key a token may be scoped to is exactly a key an import may name."""

import pytest

from confluence.spaces import is_numeric_id, is_space_key
from imports.validation import InvalidRequest, parse_import_request
from tokens.errors import SpacesInvalid
from tokens.services import _clean_spaces

KEYS = ["DOCS", "docs", "A1", "~5b10ac8d82e05b22cc7d4ef5", "X" * 255]
NOT_KEYS = ["DOC_S", "NO SUCH", "", "~", "DÖCS", "DOCS-2", "X" * 256, "~user.name"]


@pytest.mark.parametrize("key", KEYS)
def test_a_key_is_accepted_by_token_scopes_and_imports_alike(key):
    assert is_space_key(key)
    assert _clean_spaces([key])
    assert parse_import_request({"spaceId": key, "pageTitle": "t", "content": "c"}, max_content_bytes=100).space == key


@pytest.mark.parametrize("key", NOT_KEYS)
def test_a_non_key_is_refused_by_token_scopes_and_imports_alike(key):
    assert not is_space_key(key)
    with pytest.raises(SpacesInvalid):
        _clean_spaces([key])
    with pytest.raises(InvalidRequest):
        parse_import_request({"spaceId": key, "pageTitle": "t", "content": "c"}, max_content_bytes=100)


def test_numeric_ids():
    assert is_numeric_id("98304") and not is_numeric_id("DOCS") and not is_numeric_id("1" * 21)

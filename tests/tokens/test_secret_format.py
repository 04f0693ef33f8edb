"""The token format: recognisable prefix, 256 bits, and a checksum that refuses typos without the database."""

import math

from tokens import secret


def test_a_token_has_the_prefix_enough_entropy_and_a_valid_checksum():
    token = secret.generate()
    assert token.startswith("mdi_")
    assert len(token) == secret.TOKEN_LENGTH
    assert secret.BODY_LENGTH * math.log2(62) >= 256
    assert secret.is_well_formed(token)
    assert len({secret.generate() for _ in range(200)}) == 200


def test_truncated_mistyped_or_foreign_tokens_are_not_well_formed():
    token = secret.generate()
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for bad in [token[:-1], token + "x", flipped, "mdi_", "", "ghp_" + token[4:], token.replace("mdi_", "MDI_"), token[:-6] + "!!!!!!"]:
        assert not secret.is_well_formed(bad), bad


def test_the_hint_shows_start_and_end_only():
    token = secret.generate()
    hint = secret.hint_of(token)
    assert hint == f"{token[:8]}…{token[-4:]}"
    assert len(hint) <= 20
    assert secret.hash_of(token) != token and len(secret.hash_of(token)) == 64

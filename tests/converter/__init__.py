import pytest

# The comparison helper asserts; rewriting makes its failures show both canonical forms.
pytest.register_assert_rewrite("tests.converter.xml")

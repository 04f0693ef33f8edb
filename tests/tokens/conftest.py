"""Small factories for instances, licenses and tokens."""


import pytest

from tests.factories import make_instance


@pytest.fixture
def instance(db):
    return make_instance()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The failed-auth throttle lives in the cache; tests must not inherit each other's counts.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()

"""Schemathesis against /api/schema/ with a valid token: no input gets a 5xx or a response the schema does not allow."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.wsgi import application

pytestmark = pytest.mark.slow


schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def bearer(issued, settings):
    settings.IMPORT_RATE_LIMIT_PER_MINUTE = 1_000_000
    # Requests go straight to the WSGI app, which closes database connections when a request ends; the
    # test's own connection holds the test transaction, so keep it open as Django's test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {issued.secret}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_breaks_the_api(case, bearer):
    case.call_and_validate(
        headers=bearer,
        checks=[schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
                response_schema_conformance],
    )

"""Schemathesis against every service, in process, with zero failures: generated valid and invalid
requests, every response checked against the published schema (status codes, content types,
bodies). The whole suite runs behind each target (SuiteASGI), with a gateway-issued token.

The schema is loaded by a fixture when the test runs (``schemathesis.pytest.from_fixture``), not at
import: collecting the tests starts no service, and the token is minted just before it is used.
Each target is one test; its operations are reported as subtests."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from contracts import scopes
from interchange.services import available_services
from tests.support.suite import SuiteASGI, authenticate_with

pytestmark = pytest.mark.contract

TARGETS = [s.name for s in available_services() if s.publishes_api]


@pytest.fixture(params=TARGETS)
def service_schema(request: pytest.FixtureRequest, tmp_path: Path) -> schemathesis.schemas.BaseSchema:
    # Loading runs the suite's lifespan (schemathesis ends it when the test ends).
    app = SuiteASGI(tmp_path, request.param, list(scopes.ALL))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    authenticate_with(schema, app)
    return schema


schema = schemathesis.pytest.from_fixture("service_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_service_conforms_to_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate()

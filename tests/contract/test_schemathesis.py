"""Schemathesis against every service, in process, with zero failures: generated valid and invalid
requests, every response checked against the published schema (status codes, content types,
bodies). The whole suite runs behind each target (SuiteASGI), with a gateway-issued token."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from contracts import scopes
from interchange.services import available_services
from tests.support.suite import SuiteASGI, authenticate_with

pytestmark = pytest.mark.contract

TARGETS = [s.name for s in available_services() if s.publishes_api]
_DATA = Path(tempfile.mkdtemp(prefix="interchange-contract-"))


def _schema(target: str) -> schemathesis.schemas.BaseSchema:
    app = SuiteASGI(_DATA / target, target, list(scopes.ALL))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)

    authenticate_with(schema, app)

    return schema


SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

for _target in TARGETS:
    _s = _schema(_target)

    @_s.parametrize()
    @SETTINGS
    def _test(case: schemathesis.Case) -> None:
        case.call_and_validate()

    globals()[f"test_{_target}_conforms_to_its_contract"] = _test

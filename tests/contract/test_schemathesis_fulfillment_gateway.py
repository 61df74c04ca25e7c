"""Schemathesis through the gateway for the fulfilment process's published contract (issue 11),
with zero failures: the committed v1 YAML under the gateway's /fulfillment base path, against the
whole suite in process, called as an internal client (process APIs are routed for internal
clients only) granted the fulfilment scopes. Generated valid and invalid requests pass the
gateway's enforcement and reach the service, or are refused as the contract documents; the
gateway's own answers (413, 415, 429) are added as in ``test_schemathesis_gateway``, and so is its
404 "There is no API at /fulfillment/v1": what a process API answers a caller without a valid
internal token (the gateway must not tell an outsider that it exists). For the same reason a
request without its Authorization header, and a method the contract does not publish, are a 404
here (no 401, no 405 with an Allow list: ``tests/unit/gateway/test_gateway_policy.py``), not what
schemathesis's ``missing_required_header`` and ``unsupported_method`` checks ask for: those two
checks are left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import missing_required_header, unsupported_method

from contracts.scopes import FULFILLMENT_ADMIN, FULFILLMENT_READ, FULFILLMENT_WRITE
from gateway.routing import default_contracts_dir
from tests.contract.test_schemathesis_gateway import UNLIMITED, with_gateway_answers
from tests.support.suite import SuiteASGI, authenticate_with

pytestmark = pytest.mark.contract


@pytest.fixture
def fulfillment_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> schemathesis.schemas.BaseSchema:
    monkeypatch.setenv("INTERCHANGE_GATEWAY_RATE_LIMITS", json.dumps({"standard": UNLIMITED, "internal": UNLIMITED}))
    app = SuiteASGI(tmp_path, "gateway", [FULFILLMENT_WRITE, FULFILLMENT_READ, FULFILLMENT_ADMIN])
    spec = yaml.safe_load((default_contracts_dir() / "fulfillment" / "v1.yaml").read_text())
    spec["servers"] = [
        {"url": "/fulfillment"}
    ]  # the gateway's base path for the API (the file names the service's own)
    spec = with_gateway_answers(spec)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"].setdefault("404", {"description": "Not an internal client.", "content": problem})
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    authenticate_with(schema, app)
    return schema


schema = schemathesis.pytest.from_fixture("fulfillment_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_fulfillment_through_the_gateway_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=[missing_required_header, unsupported_method])

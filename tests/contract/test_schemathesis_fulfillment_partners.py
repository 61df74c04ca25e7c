"""Schemathesis against the committed 3PL contract (fulfillment_partners v1), with zero failures,
called as the demo 3PL northwind-3pl (its gateway-issued token): directly at the service and
through the gateway, whose own answers are added as for the marketplace's
(test_schemathesis_gateway). Generated valid and invalid requests reach the service, which calls
the fulfilment and inventory processes of the in-process suite for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings

from gateway.routing import default_contracts_dir
from tests.contract.test_schemathesis_gateway import UNLIMITED, with_gateway_answers
from tests.support.suite import SuiteASGI, authenticate_with

pytestmark = pytest.mark.contract

THREE_PL = "northwind-3pl"


class ThreePl(SuiteASGI):
    """The whole suite; requests go to ``target`` with the demo 3PL's own token."""

    async def _register_tester(self) -> None:
        assert self.suite is not None
        self.token = await self.suite.token(THREE_PL)


@pytest.fixture(params=["fulfillment_partners", "gateway"])
def three_pl_schema(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> schemathesis.schemas.BaseSchema:
    # A 429 is not what this checks (the gateway's tests do); every generated write counts.
    monkeypatch.setenv("INTERCHANGE_GATEWAY_RATE_LIMITS", json.dumps({"standard": UNLIMITED, "internal": UNLIMITED}))
    app = ThreePl(tmp_path, request.param, [])
    spec = yaml.safe_load((default_contracts_dir() / "fulfillment_partners" / "v1.yaml").read_text())
    if request.param == "gateway":
        assert spec["servers"][0]["url"].endswith("/fulfillment_partners")  # the gateway's base path
        spec = with_gateway_answers(spec)
    else:
        spec["servers"] = [{"url": "/"}]  # the service itself serves /v1/...
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    authenticate_with(schema, app)
    return schema


schema = schemathesis.pytest.from_fixture("three_pl_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_3pl_api_conforms_directly_and_through_the_gateway(case: schemathesis.Case) -> None:
    case.call_and_validate()

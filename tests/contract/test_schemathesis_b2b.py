"""Schemathesis through the gateway against the committed B2B contract, with zero failures, called
as a reseller (borealis-hw's gateway-issued token): as the marketplace's (test_schemathesis_gateway,
whose gateway answers are added the same way). Generated valid and invalid requests pass the
gateway's enforcement and reach the B2B service, which calls the orders process for real."""

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

RESELLER = "borealis-hw"


class ResellerThroughGateway(SuiteASGI):
    """The whole suite; requests go to the gateway with the demo reseller's own token."""

    async def _register_tester(self) -> None:
        assert self.suite is not None
        self.token = await self.suite.token(RESELLER)


@pytest.fixture
def b2b_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> schemathesis.schemas.BaseSchema:
    # The reseller's tier allows 120 writes a minute; with two POST operations (purchase orders,
    # quotes) this run makes more, and a 429 is not what it checks (the gateway's tests do).
    monkeypatch.setenv("INTERCHANGE_GATEWAY_RATE_LIMITS", json.dumps({"standard": UNLIMITED, "internal": UNLIMITED}))
    app = ResellerThroughGateway(tmp_path, "gateway", [])
    spec = yaml.safe_load((default_contracts_dir() / "b2b" / "v1.yaml").read_text())
    assert spec["servers"][0]["url"].endswith("/b2b")  # the gateway's base path for the API
    schema = schemathesis.openapi.from_dict(with_gateway_answers(spec))
    schema.app = app
    authenticate_with(schema, app)
    return schema


schema = schemathesis.pytest.from_fixture("b2b_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_b2b_through_the_gateway_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate()

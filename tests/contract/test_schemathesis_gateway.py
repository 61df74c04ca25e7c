"""Schemathesis through the gateway, with zero failures: the committed marketplace contracts (every
published version, from the YAML, under the gateway's /marketplace base path) against the whole
suite in process, called as a partner (acme-market's gateway-issued token). Generated valid and
invalid requests pass the gateway's enforcement (scopes, body schema, caps) and reach the service,
or are refused as the contract documents.

The gateway may also answer what no service contract lists, for reasons of its own: 413 (body over
the cap), 415 (media type), 410 (version past its sunset), 429 (rate limit). ``with_gateway_answers``
adds them to the loaded copy of each operation, as problem+json, so the checks hold them to the
same standard as the documented ones.

The schema is built by a fixture when the test runs (``schemathesis.pytest.from_fixture``); each
published version is one test, its operations are reported as subtests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings

from gateway.routing import default_contracts_dir
from tests.support.suite import SuiteASGI, authenticate_with

pytestmark = pytest.mark.contract

PARTNER = "acme-market"
VERSIONS = sorted(p.stem for p in (default_contracts_dir() / "marketplace").glob("v*.yaml"))
UNLIMITED = {"reads": "100000/minute", "writes": "100000/minute"}
GATEWAY_ANSWERS = {
    "410": "The version is past its sunset.",
    "413": "The request body is larger than the gateway accepts.",
    "415": "The request body's media type is not one the operation takes.",
    "429": "Too many requests for this client's rate tier.",
}


class PartnerThroughGateway(SuiteASGI):
    """The whole suite; requests go to the gateway with the demo partner's own token."""

    async def _register_tester(self) -> None:
        assert self.suite is not None
        self.token = await self.suite.token(PARTNER)


def with_gateway_answers(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "responses" in op:
                for status, description in GATEWAY_ANSWERS.items():
                    op["responses"].setdefault(status, {"description": description, "content": problem})
    return spec


@pytest.fixture(params=VERSIONS)
def gateway_schema(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> schemathesis.schemas.BaseSchema:
    # The partner's standard tier allows 120 writes a minute over the whole API; this run makes more
    # than that as operations are added, and a 429 is not what it checks (the gateway's tests do).
    monkeypatch.setenv("INTERCHANGE_GATEWAY_RATE_LIMITS", json.dumps({"standard": UNLIMITED, "internal": UNLIMITED}))
    # The suite starts with the first generated request (schemathesis ends it when the test ends).
    app = PartnerThroughGateway(tmp_path, "gateway", [])
    spec = yaml.safe_load((default_contracts_dir() / "marketplace" / f"{request.param}.yaml").read_text())
    assert spec["servers"][0]["url"].endswith("/marketplace")  # the gateway's base path for the API
    schema = schemathesis.openapi.from_dict(with_gateway_answers(spec))
    schema.app = app
    authenticate_with(schema, app)
    return schema


schema = schemathesis.pytest.from_fixture("gateway_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_marketplace_through_the_gateway_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate()

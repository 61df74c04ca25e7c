"""Schemathesis through the gateway, with zero failures: the committed marketplace contracts (every
published version, from the YAML, under the gateway's /marketplace base path) against the whole
suite in process, called as a partner (acme-market's gateway-issued token). Generated valid and
invalid requests pass the gateway's enforcement (scopes, body schema, caps) and reach the service,
or are refused as the contract documents.

The gateway may also answer what no service contract lists, for reasons of its own: 413 (body over
the cap), 415 (media type), 410 (version past its sunset), 429 (rate limit). ``with_gateway_answers``
adds them to the loaded copy of each operation, as problem+json, so the checks hold them to the
same standard as the documented ones."""

from __future__ import annotations

import copy
import tempfile
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
GATEWAY_ANSWERS = {
    "410": "The version is past its sunset.",
    "413": "The request body is larger than the gateway accepts.",
    "415": "The request body's media type is not one the operation takes.",
    "429": "Too many requests for this client's rate tier.",
}
_DATA = Path(tempfile.mkdtemp(prefix="interchange-contract-gateway-"))


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


def _schema(version: str) -> schemathesis.schemas.BaseSchema:
    app = PartnerThroughGateway(_DATA / version, "gateway", [])
    spec = yaml.safe_load((default_contracts_dir() / "marketplace" / f"{version}.yaml").read_text())
    assert spec["servers"][0]["url"].endswith("/marketplace")  # the gateway's base path for the API
    schema = schemathesis.openapi.from_dict(with_gateway_answers(spec))
    schema.app = app

    authenticate_with(schema, app)

    return schema


SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

for _version in VERSIONS:
    _s = _schema(_version)

    @_s.parametrize()
    @SETTINGS
    def _test(case: schemathesis.Case) -> None:
        case.call_and_validate()

    globals()[f"test_marketplace_{_version}_through_the_gateway_conforms"] = _test

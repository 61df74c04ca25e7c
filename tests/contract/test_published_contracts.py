"""The committed contracts are valid OpenAPI 3.1, in step with the code, and show valid calls."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from interchange.contracts import CONTRACTS_DIR, ContractError, check, validate_text
from interchange.services import available_services

pytestmark = pytest.mark.contract

COMMITTED = sorted(CONTRACTS_DIR.glob("*/v*.yaml"))


def test_every_service_that_publishes_an_api_has_a_committed_contract() -> None:
    published = {p.parent.name for p in COMMITTED}
    expected = {s.name for s in available_services() if s.publishes_api}
    assert expected <= published, f"missing contracts for {sorted(expected - published)}"


def test_contracts_are_valid_and_match_the_code() -> None:
    assert check() == []


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_request_body_carries_an_example(path: Path) -> None:
    spec = yaml.safe_load(path.read_text())
    schemas = spec.get("components", {}).get("schemas", {})
    missing = []
    for route, item in spec["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody")
            if not body:
                continue
            schema = body["content"]["application/json"]["schema"]
            target = schemas[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
            if not target.get("examples") and not body["content"]["application/json"].get("examples"):
                missing.append(f"{method.upper()} {route}")
    assert missing == []


def test_an_invalid_document_is_caught(tmp_path: Path) -> None:
    broken = {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": {"/a/{id}": {"get": {"responses": {}}}},
    }
    with pytest.raises(ContractError):
        validate_text(yaml.safe_dump(broken), tmp_path / "broken.yaml")

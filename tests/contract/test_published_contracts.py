"""The committed contracts are valid OpenAPI 3.1, in step with the code, and show valid calls."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from interchange.contracts import CONTRACTS_DIR, ContractError, check, validate_text
from interchange.services import available_services
from service_kit.openapi import Deprecation

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


DEPRECATED = [p for p in COMMITTED if yaml.safe_load(p.read_text()).get("x-interchange-deprecated")]


@pytest.mark.parametrize("path", DEPRECATED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_deprecated_version_has_a_sunset_a_published_successor_and_every_operation_flagged(path: Path) -> None:
    spec = yaml.safe_load(path.read_text())
    deprecation = Deprecation.from_spec(spec)

    assert deprecation is not None
    assert deprecation.since < deprecation.sunset
    api, version = deprecation.successor.strip("/").split("/")
    successor = CONTRACTS_DIR / api / f"{version}.yaml"
    assert successor.exists(), f"{deprecation.successor} is not published"
    assert Deprecation.from_spec(yaml.safe_load(successor.read_text())) is None
    flags = {
        (route, method): op.get("deprecated") for route, item in spec["paths"].items() for method, op in item.items()
    }
    assert set(flags.values()) == {True}, flags


def test_marketplace_v1_is_deprecated_until_its_sunset_in_favour_of_v2() -> None:
    v1 = yaml.safe_load((CONTRACTS_DIR / "marketplace" / "v1.yaml").read_text())

    assert {k: v for k, v in v1.items() if k.startswith("x-interchange-")} == {
        "x-interchange-api": "marketplace",
        "x-interchange-service": "marketplace",
        "x-interchange-tier": "experience",
        "x-interchange-deprecated": True,
        "x-interchange-deprecated-since": "2026-11-23",
        "x-interchange-sunset": "2027-06-30",
        "x-interchange-successor": "/marketplace/v2",
    }
    assert Deprecation.from_spec(v1) == Deprecation(
        since=date(2026, 11, 23), sunset=date(2027, 6, 30), successor="/marketplace/v2"
    )


def test_event_schemas_are_valid_and_match_the_code() -> None:
    from interchange.event_contracts import check_event_schemas

    assert check_event_schemas() == []

"""Every operation of every partner-facing contract carries its own request and response examples,
and every example is valid against its schema (issue 13). The e2e test sends the request examples
through the gateway (tests/e2e/test_portal_browser.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema_rs
import pytest
import yaml
from fastapi import FastAPI

from experience_apis.marketplace.api_docs import WEBHOOK_EXAMPLE_SECRET, WEBHOOK_EXAMPLE_SIGNATURE
from gateway.portal.catalog import METHODS, is_partner_facing
from gateway.portal.examples import operation_example
from gateway.routing import default_contracts_dir
from service_kit.openapi import OperationExamples, add_examples, install_openapi, version_spec
from service_kit.webhooks.signing import sign


def partner_contracts() -> dict[str, dict[str, Any]]:
    found = {}
    for file in sorted(default_contracts_dir().glob("*/v*.yaml")):
        spec = yaml.safe_load(file.read_text())
        if is_partner_facing(spec):
            found[f"{file.parent.name}/{file.stem}"] = spec
    return found


CONTRACTS = partner_contracts()


def operations(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for group in ("paths", "webhooks"):
        for path, item in spec.get(group, {}).items():
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    yield f"{method.upper()} {path}", item[method]


def examples_of(node: Mapping[str, Any]) -> list[Any]:
    return [e["value"] for e in node.get("examples", {}).values()] if isinstance(node.get("examples"), dict) else []


def valid(schema: Mapping[str, Any], value: Any, spec: Mapping[str, Any]) -> list[str]:
    """The errors of ``value`` against an OpenAPI 3.1 schema (JSON Schema 2020-12) of ``spec``."""
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema, "components": spec["components"]}
    return [e.message for e in jsonschema_rs.validator_for(document).iter_errors(value)]


def test_the_partner_facing_contracts_are_the_marketplaces_b2b_and_the_3pls() -> None:
    assert sorted(CONTRACTS) == ["b2b/v1", "fulfillment_partners/v1", "marketplace/v1", "marketplace/v2"]


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_every_operation_has_its_own_request_and_response_examples(name: str) -> None:
    spec = CONTRACTS[name]
    missing = []
    for where, op in operations(spec):
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and not examples_of(body):
            missing.append(f"{where} request body")
        missing += [f"{where} parameter {p['name']}" for p in op.get("parameters", []) if not examples_of(p)]
        for status, response in op.get("responses", {}).items():
            if (
                str(status).startswith("2")
                and response.get("content")
                and not examples_of(next(iter(response["content"].values())))
            ):
                missing.append(f"{where} response {status}")
    assert missing == []


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_every_example_is_valid_against_its_schema(name: str) -> None:
    spec = CONTRACTS[name]
    checked, invalid = 0, {}
    for where, op in operations(spec):
        parts: list[tuple[str, Mapping[str, Any], Any]] = []
        for param in op.get("parameters", []):
            parts += [(f"parameter {param['name']}", param["schema"], v) for v in examples_of(param)]
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            parts += [(f"request {media_type}", media["schema"], v) for v in examples_of(media)]
        for status, response in op.get("responses", {}).items():
            for media_type, media in response.get("content", {}).items():
                parts += [(f"response {status} {media_type}", media["schema"], v) for v in examples_of(media)]
        for part, schema, value in parts:
            checked += 1
            if errors := valid(schema, value, spec):
                invalid[f"{where} {part}"] = errors
    assert invalid == {}
    assert checked >= 2 * len(list(operations(spec)))  # the walk found them (marketplace v1: 24, b2b v1: 11)


def test_an_invalid_example_is_caught() -> None:
    spec = CONTRACTS["marketplace/v2"]
    schema = spec["paths"]["/v2/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert valid(schema, {"marketplace_order_id": "X", "lines": []}, spec) != []


def test_the_webhook_example_is_signed_with_the_example_secret() -> None:
    op = CONTRACTS["marketplace/v2"]["webhooks"]["availability.changed"]["post"]
    example = operation_example(op)
    body = json.dumps(example.request_body, separators=(",", ":"))

    signature = sign(
        secret=WEBHOOK_EXAMPLE_SECRET,
        msg_id=example.headers["webhook-id"],
        timestamp=int(example.headers["webhook-timestamp"]),
        body=body,
    )
    assert signature == example.headers["webhook-signature"] == WEBHOOK_EXAMPLE_SIGNATURE


def small_app() -> FastAPI:
    app = FastAPI(title="t")
    install_openapi(app)

    @app.post("/v1/things/{thing_id}", operation_id="makeThing", status_code=201)
    def make(thing_id: str, body: dict[str, int]) -> dict[str, int]:
        return body

    return app


def test_add_examples_puts_them_on_the_operation() -> None:
    app = small_app()
    add_examples(app, {"makeThing": OperationExamples("A thing", {"size": 2}, {"thing_id": "t1"}, {201: {"size": 2}})})

    spec = version_spec(app, api="things", version="v1", service="things", tier="experience", server="http://x")
    op = spec["paths"]["/v1/things/{thing_id}"]["post"]
    assert op["requestBody"]["content"]["application/json"]["examples"] == {
        "example": {"summary": "A thing", "value": {"size": 2}}
    }
    assert op["parameters"][0]["examples"]["example"]["value"] == "t1"
    assert op["responses"]["201"]["content"]["application/json"]["examples"]["example"]["value"] == {"size": 2}


@pytest.mark.parametrize(
    ("examples", "error"),
    [
        ({"makeThings": OperationExamples("typo")}, "no operation 'makeThings'"),
        ({"makeThing": OperationExamples("x", parameters={"id": "t1"})}, "has no parameter 'id'"),
        ({"makeThing": OperationExamples("x", responses={200: {}})}, "has no response 200"),
    ],
)
def test_an_example_for_something_the_app_does_not_have_fails_the_export(
    examples: dict[str, OperationExamples], error: str
) -> None:
    app = small_app()
    add_examples(app, examples)
    with pytest.raises(ValueError, match=error):
        app.openapi()

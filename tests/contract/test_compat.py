"""The breaking-change gate (interchange/compat.py): planted breaks are caught and named, additive
changes pass, and the gate reads the published versions from git at the right baseline."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from interchange import compat
from interchange.compat import (
    NARROWED_LIMIT,
    NARROWED_TYPE,
    NEW_REQUIRED_REQUEST_FIELD,
    REMOVED_ENUM_VALUE,
    REMOVED_MEDIA_TYPE,
    REMOVED_OPERATION,
    REMOVED_PATH,
    REMOVED_REQUEST_FIELD,
    REMOVED_RESPONSE,
    REMOVED_RESPONSE_FIELD,
    breaking_changes,
)
from interchange.contracts import CONTRACTS_DIR

pytestmark = pytest.mark.contract

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {JSON: {"schema": schema}}}


BASE: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "planted", "version": "1.0.0"},
    "paths": {
        "/v1/orders": {
            "post": {
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"anyOf": [{"type": "string", "maxLength": 255}, {"type": "null"}]},
                    }
                ],
                "requestBody": {"required": True, **body(ref("OrderCreate"))},
                "responses": {
                    "202": {
                        "description": "taken in",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        **body(ref("OrderRead")),
                    },
                    "409": {"description": "conflict"},
                },
            }
        },
        "/v1/orders/{order_id}": {
            "get": {
                "parameters": [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the order", **body(ref("OrderRead"))}},
            },
            "delete": {"responses": {"204": {"description": "gone"}}},
        },
    },
    "components": {
        "schemas": {
            "OrderCreate": {
                "type": "object",
                "additionalProperties": False,
                "required": ["order_id", "lines"],
                "properties": {
                    "order_id": {"type": "string", "minLength": 1, "maxLength": 64},
                    "note": {"anyOf": [{"type": "string", "maxLength": 200}, {"type": "null"}]},
                    "priority": ref("Priority"),
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "lines": {"type": "array", "minItems": 1, "maxItems": 200, "items": ref("Line")},
                },
            },
            "Line": {
                "type": "object",
                "required": ["sku", "quantity"],
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z]+$"},
                    "quantity": {"type": "integer", "exclusiveMinimum": 0, "maximum": 1000},
                    "price": {"type": "number"},
                    "comment": {"type": "string"},
                },
            },
            "LineRead": {
                "type": "object",
                "required": ["sku", "quantity"],
                "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
            },
            "Priority": {"type": "string", "enum": ["low", "high"]},
            "Status": {"type": "string", "enum": ["PENDING", "ACCEPTED"]},
            "OrderRead": {
                "type": "object",
                "required": ["order_id", "status", "lines"],
                "properties": {
                    "order_id": {"type": "string"},
                    "status": ref("Status"),
                    "total": {"type": "string"},
                    "count": {"type": "integer"},
                    "lines": {"type": "array", "items": ref("LineRead")},
                    "parent": {"anyOf": [ref("OrderRead"), {"type": "null"}]},
                },
            },
        }
    },
}

Edit = Callable[[dict[str, Any]], None]


def schemas(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["schemas"]


def post(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["paths"]["/v1/orders"]["post"]


def changed(edit: Edit) -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    edit(spec)
    return spec


def prop(spec: dict[str, Any], schema: str, name: str) -> dict[str, Any]:
    return schemas(spec)[schema]["properties"][name]


GET = "/v1/orders/{order_id}"
# name: (the edit, the kind of change it must be reported as, where the report must point)
BREAKS: dict[str, tuple[Edit, str, str]] = {
    "path removed": (lambda s: s["paths"].pop(GET), REMOVED_PATH, GET),
    "operation removed": (lambda s: s["paths"][GET].pop("delete"), REMOVED_OPERATION, f"DELETE {GET}"),
    "response field removed": (
        lambda s: schemas(s)["OrderRead"]["properties"].pop("total"),
        REMOVED_RESPONSE_FIELD,
        f"GET {GET} response 200 $.total",
    ),
    "response field no longer always present": (
        lambda s: schemas(s)["OrderRead"]["required"].remove("status"),
        REMOVED_RESPONSE_FIELD,
        "response 202 $.status",
    ),
    "response header removed": (
        lambda s: post(s)["responses"]["202"].pop("headers"),
        REMOVED_RESPONSE_FIELD,
        "POST /v1/orders response 202 header Location",
    ),
    "success response removed": (
        lambda s: s["paths"][GET]["get"]["responses"].pop("200"),
        REMOVED_RESPONSE,
        f"GET {GET} response 200",
    ),
    "response media type removed": (
        lambda s: post(s)["responses"]["202"].update(content={"application/xml": {"schema": ref("OrderRead")}}),
        REMOVED_MEDIA_TYPE,
        "POST /v1/orders response 202",
    ),
    "enum value removed from a request": (
        lambda s: schemas(s)["Priority"]["enum"].remove("high"),
        REMOVED_ENUM_VALUE,
        "request body $.priority",
    ),
    "enum value removed from a response": (
        lambda s: schemas(s)["Status"]["enum"].remove("ACCEPTED"),
        REMOVED_ENUM_VALUE,
        "response 200 $.status",
    ),
    "new required body field": (
        lambda s: schemas(s)["OrderCreate"].update(
            properties={**schemas(s)["OrderCreate"]["properties"], "customer": {"type": "string"}},
            required=["order_id", "lines", "customer"],
        ),
        NEW_REQUIRED_REQUEST_FIELD,
        "POST /v1/orders request body $.customer",
    ),
    "optional body field made required": (
        lambda s: schemas(s)["OrderCreate"]["required"].append("note"),
        NEW_REQUIRED_REQUEST_FIELD,
        "request body $.note",
    ),
    "nested field made required through a $ref": (
        lambda s: schemas(s)["Line"]["required"].append("price"),
        NEW_REQUIRED_REQUEST_FIELD,
        "request body $.lines[].price",
    ),
    "optional header made required": (
        lambda s: post(s)["parameters"][0].update(required=True),
        NEW_REQUIRED_REQUEST_FIELD,
        "POST /v1/orders header parameter Idempotency-Key",
    ),
    "new required query parameter": (
        lambda s: post(s)["parameters"].append({"name": "dry", "in": "query", "required": True, "schema": {}}),
        NEW_REQUIRED_REQUEST_FIELD,
        "query parameter dry",
    ),
    "request body made required": (
        lambda s: s["paths"][GET]["delete"].update(requestBody={"required": True, **body({"type": "object"})}),
        NEW_REQUIRED_REQUEST_FIELD,
        f"DELETE {GET} request body",
    ),
    "string became integer in a request": (
        lambda s: prop(s, "Line", "sku").update(type="integer"),
        NARROWED_TYPE,
        "request body $.lines[].sku",
    ),
    "null taken out of a request union": (
        lambda s: schemas(s)["OrderCreate"]["properties"].update(note={"type": "string", "maxLength": 200}),
        NARROWED_TYPE,
        "request body $.note",
    ),
    "number became integer in a request": (
        lambda s: prop(s, "Line", "price").update(type="integer"),
        NARROWED_TYPE,
        "request body $.lines[].price",
    ),
    "string became integer in a response": (
        lambda s: prop(s, "OrderRead", "order_id").update(type="integer"),
        NARROWED_TYPE,
        "response 200 $.order_id",
    ),
    "response field may now be null": (
        lambda s: prop(s, "OrderRead", "total").update(type=["string", "null"]),
        NARROWED_TYPE,
        "response 200 $.total",
    ),
    "lower maxLength": (
        lambda s: prop(s, "OrderCreate", "order_id").update(maxLength=32),
        NARROWED_LIMIT,
        "request body $.order_id",
    ),
    "higher minLength": (
        lambda s: prop(s, "OrderCreate", "order_id").update(minLength=3),
        NARROWED_LIMIT,
        "request body $.order_id",
    ),
    "lower maximum on a nested array item": (
        lambda s: prop(s, "Line", "quantity").update(maximum=100),
        NARROWED_LIMIT,
        "request body $.lines[].quantity",
    ),
    "higher minimum": (
        lambda s: prop(s, "Line", "quantity").update(exclusiveMinimum=1),
        NARROWED_LIMIT,
        "request body $.lines[].quantity",
    ),
    "lower maxItems": (
        lambda s: prop(s, "OrderCreate", "lines").update(maxItems=10),
        NARROWED_LIMIT,
        "request body $.lines",
    ),
    "higher minItems": (
        lambda s: prop(s, "OrderCreate", "lines").update(minItems=2),
        NARROWED_LIMIT,
        "request body $.lines",
    ),
    "lower maxLength in a header": (
        lambda s: post(s)["parameters"][0]["schema"]["anyOf"][0].update(maxLength=64),
        NARROWED_LIMIT,
        "header parameter Idempotency-Key",
    ),
    "changed pattern": (
        lambda s: prop(s, "Line", "sku").update(pattern="^[A-Z]{3}$"),
        NARROWED_LIMIT,
        "request body $.lines[].sku",
    ),
    "new pattern": (
        lambda s: prop(s, "OrderCreate", "order_id").update(pattern="^[0-9]+$"),
        NARROWED_LIMIT,
        "request body $.order_id",
    ),
    "additionalProperties closing": (
        lambda s: schemas(s)["Line"].update(additionalProperties=False),
        NARROWED_LIMIT,
        "request body $.lines[]",
    ),
    "free text limited to an enum": (
        lambda s: prop(s, "Line", "comment").update(enum=["gift"]),
        NARROWED_LIMIT,
        "request body $.lines[].comment",
    ),
    "field dropped from a closed request object": (
        lambda s: schemas(s)["OrderCreate"]["properties"].pop("tags"),
        REMOVED_REQUEST_FIELD,
        "request body $.tags",
    ),
}


@pytest.mark.parametrize(("edit", "kind", "where"), BREAKS.values(), ids=BREAKS.keys())
def test_a_planted_break_is_caught_and_named(edit: Edit, kind: str, where: str) -> None:
    changes = breaking_changes(BASE, changed(edit))

    assert changes, "not caught"
    assert kind in {c.kind for c in changes}, changes
    assert any(c.kind == kind and where in str(c) for c in changes), [str(c) for c in changes]


ADDITIVE: dict[str, Edit] = {
    "new optional body field": lambda s: schemas(s)["OrderCreate"]["properties"].update(gift={"type": "boolean"}),
    "new path": lambda s: s["paths"].update({"/v1/returns": {"post": {"responses": {"201": {"description": "ok"}}}}}),
    "new operation": lambda s: s["paths"]["/v1/orders/{order_id}"].update(
        patch={"responses": {"200": {"description": "ok"}}}
    ),
    "new enum value in a request": lambda s: schemas(s)["Priority"]["enum"].append("urgent"),
    "new enum value in a response": lambda s: schemas(s)["Status"]["enum"].append("SHIPPED"),
    "wider limits": lambda s: (
        schemas(s)["OrderCreate"]["properties"]["order_id"].update(maxLength=128, minLength=0),
        schemas(s)["OrderCreate"]["properties"]["lines"].update(minItems=0, maxItems=500),
        schemas(s)["Line"]["properties"]["quantity"].update(maximum=10_000),
        schemas(s)["Line"]["properties"]["sku"].pop("pattern"),
    ),
    "the same lower bound written another way for integers": lambda s: (
        schemas(s)["Line"]["properties"]["quantity"].update({"minimum": 1, "exclusiveMinimum": None})
        or schemas(s)["Line"]["properties"]["quantity"].pop("exclusiveMinimum")
    ),
    "new response field": lambda s: schemas(s)["OrderRead"]["properties"].update(eta={"type": "string"}),
    "new optional parameter": lambda s: post(s)["parameters"].append(
        {"name": "X-Trace", "in": "header", "required": False, "schema": {"type": "string"}}
    ),
    "required request field made optional": lambda s: schemas(s)["Line"]["required"].remove("quantity"),
    "integer widened to number in a request": lambda s: schemas(s)["Line"]["properties"]["quantity"].update(
        type="number"
    ),
    "null allowed in a request field": lambda s: schemas(s)["OrderCreate"]["properties"].update(
        order_id={"anyOf": [{"type": "string", "minLength": 1, "maxLength": 64}, {"type": "null"}]}
    ),
    "additionalProperties opened in a request": lambda s: schemas(s)["OrderCreate"].pop("additionalProperties"),
    "field dropped from an open request object": lambda s: schemas(s)["Line"]["properties"].pop("comment"),
    "error response removed": lambda s: post(s)["responses"].pop("409"),
    "path parameter renamed": lambda s: s["paths"].update({"/v1/orders/{id}": s["paths"].pop("/v1/orders/{order_id}")}),
    "deprecated with a sunset": lambda s: (
        s.update({"x-interchange-deprecated": True, "x-interchange-sunset": "2027-06-30"})
        or post(s).update(deprecated=True, description="Deprecated: use v2.")
    ),
}


@pytest.mark.parametrize("edit", ADDITIVE.values(), ids=ADDITIVE.keys())
def test_an_additive_change_passes(edit: Edit) -> None:
    assert breaking_changes(BASE, changed(edit)) == []


def test_a_self_referencing_schema_is_compared_without_looping() -> None:
    changes = breaking_changes(BASE, changed(lambda s: schemas(s)["OrderRead"]["properties"].pop("count")))

    # Once at the top and once inside ``parent``; the walk stops where OrderRead repeats.
    assert {c.where for c in changes} == {
        "POST /v1/orders response 202 $.count",
        "POST /v1/orders response 202 $.parent.count",
        "GET /v1/orders/{order_id} response 200 $.count",
        "GET /v1/orders/{order_id} response 200 $.parent.count",
    }


def test_the_marketplace_v2_would_break_v1_clients_which_is_why_it_is_a_new_major_version() -> None:
    v1 = yaml.safe_load((CONTRACTS_DIR / "marketplace" / "v1.yaml").read_text())
    v2_as_v1 = yaml.safe_load((CONTRACTS_DIR / "marketplace" / "v2.yaml").read_text().replace("/v2/", "/v1/"))

    found = {(c.kind, c.where.split(" $")[-1]) for c in breaking_changes(v1, v2_as_v1)}

    assert {
        (REMOVED_REQUEST_FIELD, ".order_items"),
        (REMOVED_REQUEST_FIELD, ".currency_code"),
        (NEW_REQUIRED_REQUEST_FIELD, ".lines"),
        (REMOVED_RESPONSE_FIELD, ".order_items"),
        (REMOVED_RESPONSE_FIELD, ".order_total"),
    } <= found
    assert (NEW_REQUIRED_REQUEST_FIELD, "POST /v1/orders header parameter idempotency-key") in found


# -- the gate over git ----------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with ``contracts/openapi/shop/v1.yaml`` = BASE published in its first commit."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.delenv("INTERCHANGE_CONTRACTS_BASE", raising=False)
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.email", "gate@example.com")
    _git(tmp_path, "config", "user.name", "gate")
    folder = tmp_path / "contracts" / "openapi"
    (folder / "shop").mkdir(parents=True)
    (folder / "shop" / "v1.yaml").write_text(yaml.safe_dump(BASE))
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "publish shop v1")
    return folder


def shop(folder: Path, spec: dict[str, Any] = BASE, version: str = "v1") -> dict[Path, str]:
    return {folder / "shop" / f"{version}.yaml": yaml.safe_dump(spec)}


def test_the_gate_passes_the_published_contract_and_names_a_break(repo: Path) -> None:
    assert compat.gate(shop(repo), folder=repo) == []

    [problem] = compat.gate(shop(repo, changed(BREAKS["lower maxLength"][0])), folder=repo)

    assert re.match(r"shop/v1: 1 breaking change\(s\) against [0-9a-f]{12}", problem)
    assert "POST /v1/orders request body $.order_id: maxLength lowered from 64 to 32 [narrowed limit]" in problem


def test_a_new_major_version_has_no_baseline_and_passes(repo: Path) -> None:
    generated = shop(repo) | shop(repo, changed(BREAKS["path removed"][0]), version="v2")

    assert compat.gate(generated, folder=repo) == []


def test_a_break_committed_earlier_in_the_submission_is_still_caught(repo: Path) -> None:
    first = _git(repo, "rev-parse", "HEAD")
    (repo / "shop" / "v1.yaml").write_text(yaml.safe_dump(changed(BREAKS["path removed"][0])))
    _git(repo, "commit", "-qam", "break v1 in an earlier commit")

    [problem] = compat.gate(shop(repo, changed(BREAKS["path removed"][0])), folder=repo)

    assert "removed path" in problem  # HEAD already has the break; an earlier version has not
    assert first[:12] in problem


def test_the_baseline_can_be_chosen(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "shop" / "v1.yaml").write_text(yaml.safe_dump(changed(BREAKS["path removed"][0])))
    _git(repo, "commit", "-qam", "break v1")
    generated = shop(repo, changed(BREAKS["path removed"][0]))
    assert "removed path" in compat.gate(generated, folder=repo)[0]  # against history

    monkeypatch.setenv("INTERCHANGE_CONTRACTS_BASE", "HEAD")
    assert compat.gate(generated, folder=repo) == []  # against HEAD only, which has the break

    monkeypatch.setenv("INTERCHANGE_CONTRACTS_BASE", "HEAD~1")
    assert "removed path" in compat.gate(generated, folder=repo)[0]

    monkeypatch.setenv("INTERCHANGE_CONTRACTS_BASE", "no-such-revision")
    assert compat.gate(generated, folder=repo) == [
        "breaking-change gate: INTERCHANGE_CONTRACTS_BASE='no-such-revision' is not a revision of this repository"
    ]


def test_a_published_version_may_go_only_after_its_sunset(repo: Path) -> None:
    assert "no longer generated, before its sunset (None)" in compat.gate({}, folder=repo)[0]
    sunsetting = BASE | {"x-interchange-deprecated": True, "x-interchange-sunset": "2027-06-30"}
    (repo / "shop" / "v1.yaml").write_text(yaml.safe_dump(sunsetting))
    _git(repo, "commit", "-qam", "deprecate v1")

    assert compat.gate({}, folder=repo, today=date(2027, 6, 29)) != []
    assert compat.gate({}, folder=repo, today=date(2027, 6, 30)) == []


def test_the_committed_contracts_pass_the_gate_against_head(monkeypatch: pytest.MonkeyPatch) -> None:
    if subprocess.run(["git", "-C", str(CONTRACTS_DIR), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    monkeypatch.setenv("INTERCHANGE_CONTRACTS_BASE", "HEAD")
    committed = {path: path.read_text() for path in CONTRACTS_DIR.glob("*/v*.yaml")}

    assert compat.gate(committed, folder=CONTRACTS_DIR) == []


def test_marketplace_v1_as_first_published_still_holds_beside_v2_and_deprecated() -> None:
    """Adding v2 and deprecating v1 changed v1's file (deprecated flags, x-interchange keys, an
    optional Idempotency-Key): none of it breaks a v1 client."""
    path = CONTRACTS_DIR / "marketplace" / "v1.yaml"
    first = subprocess.run(
        ["git", "-C", str(path.parent), "log", "--diff-filter=A", "--format=%H", "--", path.name],
        capture_output=True,
        text=True,
    ).stdout.split()
    if not first:
        pytest.skip("no git history here")
    shown = subprocess.run(
        ["git", "-C", str(path.parent), "show", f"{first[-1]}:./{path.name}"], capture_output=True, text=True
    )
    published = yaml.safe_load(shown.stdout)

    assert "x-interchange-deprecated" not in published
    assert breaking_changes(published, yaml.safe_load(path.read_text())) == []

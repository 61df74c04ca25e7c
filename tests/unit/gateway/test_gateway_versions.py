"""Versions at the edge: a deprecated version's answers all carry Deprecation, Sunset and the
successor Link (once each, the service's own replaced); past its sunset it is 410 Gone and the
service is not called."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.routing import default_contracts_dir
from gateway.versions import Lifecycle, LifecycleError, version_headers
from service_kit.http import RoutingTransport
from service_kit.openapi import Deprecation
from tests.unit.gateway.conftest import MARKETPLACE_V1, FakeService, Gateway, gateway_settings, running_gateway
from tests.unit.gateway.conftest import write_contract as write

PROBLEM = "application/problem+json"
LIFECYCLE = """x-interchange-deprecated: true
x-interchange-deprecated-since: '2026-11-23'
x-interchange-sunset: '{sunset}'
x-interchange-successor: /marketplace/v2
"""
DEPRECATION = "@1795392000"  # 2026-11-23T00:00:00Z


def deprecated(sunset: str, *, since: bool = True) -> str:
    keys = LIFECYCLE.format(sunset=sunset)
    if not since:
        keys = keys.replace("x-interchange-deprecated-since: '2026-11-23'\n", "")
    return MARKETPLACE_V1.replace("paths:\n", keys + "paths:\n", 1)


def gateway(tmp_path: Path, contract: str, service: FakeService):  # type: ignore[no-untyped-def]
    root = tmp_path / "contracts"
    write(root, "marketplace", "v1", contract)
    transport = RoutingTransport({"marketplace.test": httpx.ASGITransport(app=service)})
    return running_gateway(gateway_settings(tmp_path, root), transport)


async def test_every_answer_of_a_deprecated_version_says_so_once(tmp_path: Path) -> None:
    service = FakeService()
    service.headers = [
        (b"content-type", b"application/json"),
        # What the service itself sends (service_kit's deprecate_version), plus a Link of its own.
        (b"deprecation", b"@1"),
        (b"sunset", b"Thu, 01 Jan 2099 00:00:00 GMT"),
        (b"link", b'</marketplace/v9/orders/MP-1>; rel="successor-version"'),
        (b"link", b'</marketplace/v1/orders?page=2>; rel="next"'),
    ]
    async with gateway(tmp_path, deprecated("2099-06-30"), service) as gw:
        auth = await gw.partner_bearer()
        ok = await gw.client.get("/marketplace/v1/orders/MP-1", headers=auth)
        refusals = [
            await gw.client.get("/marketplace/v1/orders/MP-1"),  # 401
            await gw.client.get("/marketplace/v1/invoices", headers=auth),  # 404
            await gw.client.delete("/marketplace/v1/orders/MP-1", headers=auth),  # 405
        ]

    assert ok.status_code == 200
    assert ok.headers.get_list("deprecation") == [DEPRECATION]
    assert ok.headers.get_list("sunset") == ["Tue, 30 Jun 2099 00:00:00 GMT"]
    assert ok.headers.get_list("link") == [
        '</marketplace/v1/orders?page=2>; rel="next"',
        '</marketplace/v2/orders/MP-1>; rel="successor-version"',
    ]
    for resp in refusals:
        assert resp.headers["content-type"] == PROBLEM
        assert resp.headers["deprecation"] == DEPRECATION
        assert resp.headers["sunset"] == "Tue, 30 Jun 2099 00:00:00 GMT"
        assert resp.headers["link"].startswith("</marketplace/v2/")
    assert [r.status_code for r in refusals] == [401, 404, 405]


async def test_after_its_sunset_a_version_is_gone_and_its_service_untouched(tmp_path: Path) -> None:
    service = FakeService()
    async with gateway(tmp_path, deprecated("2020-01-01"), service) as gw:
        resp = await gw.client.get("/marketplace/v1/orders/MP-1", headers=await gw.partner_bearer())

    assert resp.status_code == 410
    assert resp.headers["content-type"] == PROBLEM
    body = resp.json()
    assert body["type"] == "urn:interchange:problem:gone"
    assert "2020-01-01" in body["detail"]
    assert "/marketplace/v2" in body["detail"]
    assert resp.headers["sunset"] == "Wed, 01 Jan 2020 00:00:00 GMT"
    assert resp.headers["link"] == '</marketplace/v2/orders/MP-1>; rel="successor-version"'
    assert service.seen == []


async def test_a_version_that_is_not_deprecated_carries_none_of_it(gateway: Gateway) -> None:
    resp = await gateway.client.get("/marketplace/v1/orders", headers=await gateway.partner_bearer())

    assert resp.status_code == 200
    assert not {"deprecation", "sunset", "link"} & set(resp.headers)


async def test_without_a_date_the_deprecation_dates_from_its_first_publication(tmp_path: Path) -> None:
    contract = deprecated("2099-06-30", since=False)
    before = datetime.now(UTC).timestamp()
    async with gateway(tmp_path, contract, FakeService()) as first:
        one = await first.client.get("/marketplace/v1/orders")
    async with gateway(tmp_path, contract, FakeService()) as restarted:
        two = await restarted.client.get("/marketplace/v1/orders")

    stamp = one.headers["deprecation"]
    assert stamp.startswith("@")
    assert before - 1 <= int(stamp[1:]) <= datetime.now(UTC).timestamp()
    assert two.headers["deprecation"] == stamp  # recorded, not re-stamped at each start


def test_the_gateway_sends_what_the_service_sends_for_the_committed_marketplace_v1() -> None:
    spec = yaml.safe_load((default_contracts_dir() / "marketplace" / "v1.yaml").read_text())
    lifecycle = Lifecycle.from_spec(spec)
    kit = Deprecation.from_spec(spec)
    # marketplace v1 is deprecated for v2: a committed contract that lost it is a regression, not a skip.
    assert lifecycle is not None, "the committed marketplace v1 contract no longer declares its deprecation"
    assert kit is not None, "the kit reads no deprecation from the committed marketplace v1 contract"

    ours = version_headers(lifecycle).headers("/orders/ACME-100234")

    theirs = kit.headers(rest="/orders/ACME-100234")
    assert {k.decode(): v.decode() for k, v in ours} == {k.lower(): v for k, v in theirs.items()}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"x-interchange-deprecated": "yes"}, "true or false"),
        ({"x-interchange-sunset": "next summer"}, "YYYY-MM-DD"),
        ({"x-interchange-successor": "marketplace v2"}, "a path"),
    ],
)
def test_a_lifecycle_the_gateway_cannot_read_stops_it(keys: dict[str, str], message: str) -> None:
    with pytest.raises(LifecycleError, match=message):
        Lifecycle.from_spec(keys)


def test_yaml_dates_are_read_as_dates() -> None:
    lifecycle = Lifecycle.from_spec({"x-interchange-deprecated": True, "x-interchange-sunset": date(2027, 6, 30)})

    assert lifecycle is not None
    assert lifecycle.sunset == date(2027, 6, 30)

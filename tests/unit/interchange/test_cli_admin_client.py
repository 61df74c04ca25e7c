"""The CLI's admin client (interchange.admin_client) as the services see it: what it sends."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from interchange import admin_client
from tests.unit.interchange.cli_support import isolate, one_line, run

ENV = {
    "INTERCHANGE_ORDERS_URL": "http://orders.test",
    "INTERCHANGE_GATEWAY_URL": "http://gateway.test",
    "INTERCHANGE_OPS_CLIENT_ID": "ops-cli",
    "INTERCHANGE_OPS_CLIENT_SECRET": "s3cret",
}


def test_an_order_id_is_one_path_segment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An id with ``/`` or ``..`` cannot reach another admin endpoint: it is quoted into the path."""
    isolate(monkeypatch)
    paths: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "gateway.test":
            return httpx.Response(200, json={"access_token": "ops-token"})
        paths.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"detail": "No order ../exceptions."})

    monkeypatch.setattr(admin_client, "transport", httpx.MockTransport(handle))

    result = run(tmp_path, "orders", "replay", "../exceptions", env=ENV)

    assert paths == ["/v1/admin/orders/..%2Fexceptions/replay"]
    assert one_line(result) == "error: No order ../exceptions."

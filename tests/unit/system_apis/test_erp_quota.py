"""The ERP's call quota, as a cloud ERP has one: N calls per wall-clock second across callers, the
call over it refused with a 429 problem and a Retry-After to the next second; a batch counts once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from system_apis.erp.quota import CallQuota
from tests.support.tokens import bearer
from tests.unit.system_apis.test_erp_batch import entry


class StoppedClock(CallQuota):
    """The quota at one moment of the wall clock, so a test's calls fall in one second."""

    def __init__(self, per_second: int, *, at: float) -> None:
        super().__init__(per_second)
        self.at = at

    def take(self, *, now: float | None = None) -> float | None:
        return super().take(now=self.at if now is None else now)


def test_the_quota_counts_calls_per_wall_clock_second() -> None:
    q = CallQuota(2)
    assert q.take(now=100.2) is None
    assert q.take(now=100.5) is None
    assert q.take(now=100.75) == pytest.approx(0.25)
    assert q.take(now=101.0) is None  # a new second
    assert q.refused == 1
    assert CallQuota(0).take(now=100.0) is None  # 0: no quota


async def test_a_call_over_the_quota_is_a_429_problem_with_retry_after(erp: httpx.AsyncClient, app: Any) -> None:
    app.state.call_quota = clock = StoppedClock(2, at=1_000.4)
    batch = {"entries": [entry(f"q-{n}") for n in range(50)]}
    booked = await erp.post("/v1/sales-order-batches", json=batch, headers=bearer("erp:write"))
    assert booked.status_code == 200
    assert (await erp.get("/v1/items/CABLE-USB-C", headers=bearer("erp:read"))).status_code == 200
    over = await erp.post("/v1/sales-order-batches", json={"entries": [entry("q-late")]}, headers=bearer("erp:write"))
    assert over.status_code == 429
    assert over.headers["content-type"] == "application/problem+json"
    assert over.headers["Retry-After"] == "1"
    assert "2 calls per second" in over.json()["detail"]
    reread = await erp.get("/v1/sales-orders", params={"external_reference": "q-late"}, headers=bearer("erp:read"))
    assert reread.status_code == 429  # reads count too
    clock.at = 1_001.0  # the next second
    found = await erp.get("/v1/sales-orders", params={"external_reference": "q-late"}, headers=bearer("erp:read"))
    assert found.json() == {"items": []}  # the refused call booked nothing

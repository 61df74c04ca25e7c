"""Partner stock snapshots (issue 11): a 3PL's counted stock at the warehouse it operates, compared
with the WMS figures this process holds for that warehouse (the projection's positions, kept from
the WMS's stock movements). The drift per SKU is answered and recorded as reconciliation's is: a
run in the drift history (``inv_reconcile_runs``, channel ``stock:<warehouse>``) and the
``drift_found`` counter under that label."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import CanonicalModel, Line, Sku, UtcDateTime
from process_apis.inventory.metrics import InventoryMetrics
from process_apis.inventory.models import ReconcileRun, StockPosition

#: Counts are whole units, as the WMS keeps them (EA).
Count = Annotated[int, Field(strict=True, ge=0, le=999_999_999)]


def _text_only(value: object) -> object:
    """ISO 8601 text, as the contract publishes it: not a number of seconds (pydantic's lax mode reads one)."""
    if not isinstance(value, (str, datetime)):
        raise ValueError("A date-time as ISO 8601 text, e.g. 2026-12-07T06:00:00Z.")
    return value


class PartnerStockCount(CanonicalModel):
    sku: Sku
    quantity: Annotated[Count, Field(description="Units the partner counted on hand")]


class PartnerStockSnapshotCreate(CanonicalModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "partner_id": "northwind-3pl",
                    "warehouse": "WH-3PL",
                    "counted_at": "2026-12-07T06:00:00Z",
                    "lines": [{"sku": "WIDGET-BLUE", "quantity": 40}],
                }
            ]
        },
    )

    partner_id: Annotated[Line, Field(min_length=1, max_length=64, description="The partner that counted")]
    warehouse: Annotated[Line, Field(min_length=1, max_length=32, description="The warehouse it operates")]
    counted_at: Annotated[UtcDateTime, BeforeValidator(_text_only)]
    lines: Annotated[list[PartnerStockCount], Field(min_length=1, max_length=1000)]

    @model_validator(mode="after")
    def _one_count_per_sku(self) -> PartnerStockSnapshotCreate:
        seen: set[str] = set()
        for line in self.lines:
            if line.sku in seen:
                raise ValueError(f"SKU {line.sku} is counted twice; send one count per SKU.")
            seen.add(line.sku)
        return self


class PartnerStockDrift(CanonicalModel):
    sku: Sku
    counted: int
    wms_on_hand: Annotated[int, Field(description="On hand at the warehouse by the WMS's movements")]
    drift: Annotated[int, Field(description="counted - wms_on_hand: positive, the partner has more")]


class PartnerStockReport(CanonicalModel):
    partner_id: str
    warehouse: str
    counted_at: datetime
    checked_at: datetime
    items: Annotated[list[PartnerStockDrift], Field(description="Every counted SKU, drifting or not")]
    drifted: Annotated[int, Field(description="How many SKUs drift")]
    uncounted: Annotated[
        list[str], Field(description="SKUs the WMS has on hand at the warehouse that the snapshot did not count")
    ]


def drift_label(warehouse: str) -> str:
    """The drift history's and metric's channel label of a warehouse's partner counts."""
    return f"stock:{warehouse}"[:32]


async def _on_hand(*, session: AsyncSession, warehouse: str) -> dict[str, int]:
    rows = await session.execute(
        select(StockPosition.sku, StockPosition.on_hand).where(StockPosition.warehouse == warehouse)
    )
    return {sku: on_hand for sku, on_hand in rows}


def _uncounted(on_hand: dict[str, int], counted: Collection[str]) -> list[str]:
    return sorted(sku for sku, units in on_hand.items() if units > 0 and sku not in counted)


async def compare_partner_stock(
    *,
    session: AsyncSession,
    snapshot: PartnerStockSnapshotCreate,
    metrics: InventoryMetrics | None = None,
    now: datetime | None = None,
) -> PartnerStockReport:
    """The drift of each counted SKU, recorded in the drift history in the caller's transaction."""
    now = now or datetime.now(UTC)
    on_hand = await _on_hand(session=session, warehouse=snapshot.warehouse)
    items = [
        PartnerStockDrift(
            sku=line.sku,
            counted=line.quantity,
            wms_on_hand=on_hand.get(line.sku, 0),
            drift=line.quantity - on_hand.get(line.sku, 0),
        )
        for line in snapshot.lines
    ]
    drifted = sum(1 for item in items if item.drift)
    label = drift_label(snapshot.warehouse)
    session.add(ReconcileRun(checked_at=now, channel=label, drift=drifted, repaired=False))
    if metrics is not None and drifted:
        metrics.drift_found.labels(label).inc(drifted)
    return PartnerStockReport(
        partner_id=snapshot.partner_id,
        warehouse=snapshot.warehouse,
        counted_at=snapshot.counted_at,
        checked_at=now,
        items=items,
        drifted=drifted,
        uncounted=_uncounted(on_hand, {line.sku for line in snapshot.lines}),
    )


__all__ = [
    "PartnerStockCount",
    "PartnerStockDrift",
    "PartnerStockReport",
    "PartnerStockSnapshotCreate",
    "compare_partner_stock",
    "drift_label",
]

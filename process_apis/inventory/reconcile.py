"""Reconciliation: what each channel was last told against what is true now, computed from the
WMS's current stock (fetched, not the projection, so a lost or skipped event shows up), with a
drift report and, on request, repair: correct the projection from the WMS and republish."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.inventory import history as stock_history
from process_apis.inventory import projection, repository
from process_apis.inventory.allocation import SELLABLE, Stock, available_to_sell
from process_apis.inventory.clients import fetch_stock
from process_apis.inventory.metrics import InventoryMetrics
from process_apis.inventory.projection import PositionState
from process_apis.inventory.schemas import Drift, ReconciliationReport
from process_apis.inventory.settings import ChannelRule
from service_kit.http import Upstream


async def reconcile_with(
    *,
    session: AsyncSession,
    stock: Sequence[PositionState],
    rules: Mapping[str, ChannelRule],
    window: float,
    repair: bool,
    metrics: InventoryMetrics | None = None,
    now: datetime | None = None,
) -> ReconciliationReport:
    now = now or datetime.now(UTC)
    by_sku: dict[str, list[PositionState]] = defaultdict(list)
    for position in stock:
        by_sku[position.sku].append(position)
    items = await repository.items(session=session)
    states = await repository.channel_states(session=session)
    drift: list[Drift] = []
    for state in states:
        if state.channel not in rules or state.told is None:
            continue
        item = items.get(state.sku)
        true = available_to_sell(
            rule=rules[state.channel],
            stock=[Stock(p.warehouse, p.on_hand, p.reserved) for p in by_sku.get(state.sku, [])],
            status=item.status if item else SELLABLE,
            safety_stock=item.safety_stock if item else 0,
        )
        if true != state.told:
            since = None if state.told_at is None else state.told_at.replace(tzinfo=UTC)
            drift.append(
                Drift(
                    sku=state.sku,
                    channel=state.channel,
                    told=state.told,
                    true=true,
                    since=since,
                    publication_pending=state.due_at is not None and state.desired == true,
                )
            )
    corrected: set[tuple[str, str]] = set()
    if repair:
        corrected = await projection.apply_positions(session=session, states=stock)
        # window 0 and force: what drifted goes out at the next publisher pass, even when the
        # projection was right and only the publication was lost.
        skus = {d.sku for d in drift} | {sku for sku, _ in corrected}
        await projection.refresh_skus(session=session, skus=skus, rules=rules, now=now, window=0, force=True)
    drifting = Counter(found.channel for found in drift)
    await stock_history.add_reconciliation(
        session=session, checked_at=now, channels=rules, drifting=drifting, repaired=repair
    )
    if metrics is not None:
        for found in drift:
            metrics.drift_found.labels(found.channel).inc()
        metrics.drift_open.set(len(drift))
    return ReconciliationReport(
        checked_at=now,
        skus=len({s.sku for s in states} | set(by_sku)),
        channels=len(rules),
        drift=drift,
        positions_corrected=len(corrected),
        repaired=repair,
    )


async def reconcile(
    *,
    session: AsyncSession,
    wms: Upstream,
    rules: Mapping[str, ChannelRule],
    window: float,
    repair: bool,
    metrics: InventoryMetrics | None = None,
) -> ReconciliationReport:
    """Fetch the WMS's stock first (no write lock held meanwhile), then compare and repair."""
    stock = await fetch_stock(wms=wms)
    return await reconcile_with(
        session=session, stock=stock, rules=rules, window=window, repair=repair, metrics=metrics
    )


__all__ = ["reconcile", "reconcile_with"]

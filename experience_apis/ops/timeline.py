"""One order's story across the tiers, oldest first: the orders process's timeline (status history,
saga steps, replays, events) merged into one list, each entry naming the tier it happened in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from experience_apis.ops.schemas import TimelineEntry

#: The system each saga step calls (process_apis.orders.models.SagaStep).
STEP_SYSTEM = {
    "price_order": "ERP",
    "check_credit": "ERP",
    "reserve_stock": "WMS",
    "create_sales_order": "ERP",
    "release_to_warehouse": "WMS",
    "record_activity": "CRM",
    "cancel_picking": "WMS",
    "cancel_sales_order": "ERP",
    "release_stock": "WMS",
}


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def merge(timeline: dict[str, Any]) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            at=_at(c["changed_at"]),
            tier="orders",
            what=f"{c['from_status'] or 'new'} → {c['to_status']}",
            detail=c.get("reason"),
            correlation_id=c.get("correlation_id") or None,
        )
        for c in timeline["history"]
    ]
    entries += [
        TimelineEntry(
            at=_at(s["at"]),
            tier=STEP_SYSTEM.get(s["step"], "orders"),
            what=f"{s['step']}: {s['outcome']}" + (f" (attempt {s['attempt']})" if s.get("attempt", 0) > 1 else ""),
            detail=s.get("detail"),
            correlation_id=s.get("correlation_id") or None,
        )
        for s in timeline["steps"]
    ]
    entries += [
        TimelineEntry(
            at=_at(r["requested_at"]),
            tier="ops",
            what=f"replay from {r['step']} by {r['actor']}: {r['outcome']}",
            detail=r.get("note"),
        )
        for r in timeline["replays"]
    ]
    entries += [
        TimelineEntry(
            at=_at(e["time"]),
            tier="events",
            what=e["type"],
            detail="published" if e.get("published_at") else "in the outbox",
            correlation_id=e.get("correlationid") or None,
        )
        for e in timeline["events"]
    ]
    return sorted(entries, key=lambda entry: entry.at)


__all__ = ["STEP_SYSTEM", "merge"]

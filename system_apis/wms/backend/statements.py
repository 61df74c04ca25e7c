"""The reference WMS's hot statements, built once as SQLAlchemy Core (module level).

A reservation, a pick release or a receipt runs a handful of these: a statement built per call
(and, for ORM statements, compiled through the session with object loading after it) cost more
CPU than SQLite took to run it. A statement built once keeps its cache key, so SQLAlchemy finds
its compiled form without walking it again; every value is a bound parameter.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from system_apis.wms.models import (
    ALLOCATED,
    BOOKED_ONCE,
    DEALLOCATED,
    PICK_RELEASED,
    PICKED,
    WmsAllocation,
    WmsAllocationLine,
    WmsStock,
    WmsStockMovement,
    WmsWarehouse,
)

stock = cast(Table, WmsStock.__table__)
warehouses = cast(Table, WmsWarehouse.__table__)
allocations = cast(Table, WmsAllocation.__table__)
allocation_lines = cast(Table, WmsAllocationLine.__table__)
journal = cast(Table, WmsStockMovement.__table__)

OPEN = (ALLOCATED, PICK_RELEASED, PICKED)


@functools.lru_cache(maxsize=256)
def candidates(skus: int) -> Any:
    """Every warehouse, with the stock of the SKUs asked (bound as ``s0``, ``s1``... up to
    ``skus``) where it has any: what the warehouse choice needs, in one statement. One statement
    per number of SKUs, built once: an expanding ``IN`` parameter is rendered into the SQL on
    every execution, and that rendering was over half of a reservation's CPU."""
    wanted: list[Any] = [bindparam(f"s{n}") for n in range(skus)]
    return (
        select(
            warehouses.c.whse_id,
            warehouses.c.site_code,
            stock.c.article,
            stock.c.uom,
            stock.c.qty_on_hand,
            stock.c.qty_allocated,
            stock.c.last_movement_at,
        )
        .select_from(
            warehouses.outerjoin(stock, and_(stock.c.whse_id == warehouses.c.whse_id, stock.c.article.in_(wanted)))
        )
        .order_by(warehouses.c.site_code, stock.c.article)
    )


WHSE_ID = select(warehouses.c.whse_id).where(warehouses.c.site_code == bindparam("site"))

#: Check and allocate in one statement (no other request can take the stock in between), and
#: version the balance for its stock.moved event.
TAKE = (
    update(stock)
    .where(
        stock.c.whse_id == bindparam("w"),
        stock.c.article == bindparam("a"),
        stock.c.qty_on_hand - stock.c.qty_allocated >= bindparam("q"),
    )
    .values(
        qty_allocated=stock.c.qty_allocated + bindparam("q"),
        last_movement_at=bindparam("at"),
        movement_seq=stock.c.movement_seq + 1,
    )
    .returning(stock.c.qty_on_hand, stock.c.qty_allocated, stock.c.movement_seq)
)

#: Give allocated stock back, versioned like ``TAKE``.
GIVE_BACK = (
    update(stock)
    .where(stock.c.whse_id == bindparam("w"), stock.c.article == bindparam("a"))
    .values(
        qty_allocated=stock.c.qty_allocated - bindparam("q"),
        last_movement_at=bindparam("at"),
        movement_seq=stock.c.movement_seq + 1,
    )
    .returning(stock.c.qty_on_hand, stock.c.qty_allocated, stock.c.movement_seq)
)

AVAILABLE = select(stock.c.article, stock.c.qty_on_hand - stock.c.qty_allocated).where(
    stock.c.whse_id == bindparam("w"), stock.c.article.in_(bindparam("articles", expanding=True))
)

NEW_ALLOCATION = insert(allocations).returning(allocations.c.alloc_no)
NEW_ALLOCATION_LINE = insert(allocation_lines)

#: Allocations with their site code and lines, one row per line (the filter is added per use).
_ALLOCATION_ROWS = (
    select(
        allocations.c.alloc_no,
        allocations.c.order_ref,
        allocations.c.alloc_status,
        allocations.c.created_at,
        warehouses.c.whse_id,
        warehouses.c.site_code,
        allocation_lines.c.article,
        allocation_lines.c.qty,
        allocation_lines.c.uom,
    )
    .select_from(
        allocations.join(warehouses, warehouses.c.whse_id == allocations.c.whse_id).outerjoin(
            allocation_lines, allocation_lines.c.alloc_no == allocations.c.alloc_no
        )
    )
    .order_by(allocations.c.alloc_no, allocation_lines.c.line_no)
)
ALLOCATION_BY_NO = _ALLOCATION_ROWS.where(allocations.c.alloc_no == bindparam("no"))
ALLOCATIONS_BY_REF = _ALLOCATION_ROWS.where(allocations.c.order_ref == bindparam("ref"))
OPEN_ALLOCATION_BY_REF = _ALLOCATION_ROWS.where(
    allocations.c.order_ref == bindparam("ref"), allocations.c.alloc_status.in_(OPEN)
)

#: Move an allocation between two statuses, only from ``before`` (two requests cannot both move it).
MOVE_ALLOCATION = (
    update(allocations)
    .where(allocations.c.alloc_no == bindparam("no"), allocations.c.alloc_status == bindparam("before"))
    .values(alloc_status=bindparam("after"))
    .returning(allocations.c.alloc_no)
)
DEALLOCATE = (
    update(allocations)
    .where(allocations.c.alloc_no == bindparam("no"), allocations.c.alloc_status == ALLOCATED)
    .values(alloc_status=DEALLOCATED, released_at=bindparam("at"))
    .returning(allocations.c.alloc_no)
)

NEW_JOURNAL_ROWS = insert(journal)


def _receive_lines(insert: Any) -> Any:
    """Receipt lines as one upsert (PostgreSQL and SQLite speak the same ``ON CONFLICT``): a new
    balance starts at the quantity received with version 1, a known one goes up by it and moves
    to its next version; each line answers its SKU, balance and version (in no set order: the
    SKUs of a receipt are distinct)."""
    excluded = insert(stock).excluded
    return (
        insert(stock)
        .on_conflict_do_update(
            index_elements=[stock.c.whse_id, stock.c.article],
            set_={
                "qty_on_hand": stock.c.qty_on_hand + excluded.qty_on_hand,
                "last_movement_at": excluded.last_movement_at,
                "movement_seq": stock.c.movement_seq + 1,
            },
        )
        .returning(stock.c.article, stock.c.qty_on_hand, stock.c.qty_allocated, stock.c.movement_seq)
    )


#: Receipt lines, by dialect; built once (building and compiling it per receipt cost more than running it).
RECEIVE = {"sqlite": _receive_lines(sqlite.insert), "postgresql": _receive_lines(postgresql.insert)}

#: What a reference booked (a receipt, adjustment or count), with the site code of each line's
#: warehouse; by the unique index on the reference (``models.BOOKED_ONCE``), not a scan of the
#: whole journal.
JOURNAL_BY_REF = (
    select(
        journal.c.article,
        journal.c.kind,
        journal.c.qty_delta,
        journal.c.on_hand_after,
        journal.c.allocated_after,
        journal.c.seq,
        journal.c.occurred_at,
        journal.c.reference,
        warehouses.c.site_code,
    )
    .join(warehouses, warehouses.c.whse_id == journal.c.whse_id)
    .where(text(BOOKED_ONCE), journal.c.kind == bindparam("kind"), journal.c.reference == bindparam("ref"))
    .order_by(journal.c.id)
)

__all__ = [
    "ALLOCATIONS_BY_REF",
    "ALLOCATION_BY_NO",
    "AVAILABLE",
    "DEALLOCATE",
    "GIVE_BACK",
    "JOURNAL_BY_REF",
    "MOVE_ALLOCATION",
    "NEW_ALLOCATION",
    "NEW_ALLOCATION_LINE",
    "NEW_JOURNAL_ROWS",
    "OPEN",
    "OPEN_ALLOCATION_BY_REF",
    "RECEIVE",
    "TAKE",
    "WHSE_ID",
    "candidates",
]

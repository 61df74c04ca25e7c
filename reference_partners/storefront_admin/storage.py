"""The shop's SQLite file: inventory levels (and every level it was sent), orders, their fulfilments,
and each webhook delivery attempt with the answer it got.

The standard library's ``sqlite3`` on purpose: a partner stand-in shares no runtime with the suite
(no ORM, no migrations history), and the tables created if missing are all it keeps. Every call
opens its own connection (the routes run in a thread pool) and commits on success only, so a
failed request leaves nothing half-written; ``BEGIN IMMEDIATE`` numbers orders one at a time.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FIRST_ORDER_NUMBER = 1001

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inventory_levels (
    inventory_item_id INTEGER PRIMARY KEY,
    available INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS inventory_level_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    inventory_item_id INTEGER NOT NULL,
    available INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fulfillments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fulfillments_order ON fulfillments (order_id);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    response TEXT,
    error TEXT,
    at TEXT NOT NULL
);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _connection(self, *, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        finally:
            conn.close()

    def readable(self) -> bool:
        with contextlib.suppress(sqlite3.Error), self._connection() as conn:
            conn.execute("SELECT 1 FROM orders LIMIT 1")
            return True
        return False

    # Inventory levels
    def set_level(self, *, inventory_item_id: int, available: int) -> dict[str, Any]:
        at = now()
        with self._connection(immediate=True) as conn:
            conn.execute(
                "INSERT INTO inventory_levels (inventory_item_id, available, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (inventory_item_id) DO UPDATE SET available = excluded.available, "
                "updated_at = excluded.updated_at",
                (inventory_item_id, available, at),
            )
            conn.execute(
                "INSERT INTO inventory_level_history (inventory_item_id, available, at) VALUES (?, ?, ?)",
                (inventory_item_id, available, at),
            )
        return {"inventory_item_id": inventory_item_id, "available": available, "updated_at": at}

    def levels(self, *, inventory_item_ids: list[int] | None) -> list[dict[str, Any]]:
        with self._connection() as conn:
            rows = conn.execute("SELECT * FROM inventory_levels ORDER BY inventory_item_id").fetchall()
        wanted = set(inventory_item_ids) if inventory_item_ids is not None else None
        return [dict(r) for r in rows if wanted is None or r["inventory_item_id"] in wanted]

    def level_history(self, *, inventory_item_id: int) -> list[dict[str, Any]]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT available, at FROM inventory_level_history WHERE inventory_item_id = ? ORDER BY id",
                (inventory_item_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    # Orders
    def add_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """``order`` numbered (``id``, ``order_number``, ``name``) and kept."""
        with self._connection(immediate=True) as conn:
            (last,) = conn.execute("SELECT MAX(id) FROM orders").fetchone()
            number = (last or FIRST_ORDER_NUMBER - 1) + 1
            numbered = {"id": number, "order_number": number, "name": f"#{number}", **order}
            conn.execute("INSERT INTO orders (id, body) VALUES (?, ?)", (number, json.dumps(numbered)))
        return numbered

    def order(self, order_id: int) -> dict[str, Any] | None:
        with self._connection() as conn:
            row = conn.execute("SELECT body FROM orders WHERE id = ?", (order_id,)).fetchone()
        return json.loads(row["body"]) if row else None

    def orders(self) -> list[dict[str, Any]]:
        with self._connection() as conn:
            rows = conn.execute("SELECT body FROM orders ORDER BY id").fetchall()
        return [json.loads(r["body"]) for r in rows]

    def cancel_order(self, *, order_id: int, reason: str) -> tuple[dict[str, Any] | None, bool]:
        """The order, and whether it was cancelled now (``None``: no such order; already cancelled:
        as it was, and ``False``)."""
        with self._connection(immediate=True) as conn:
            row = conn.execute("SELECT body FROM orders WHERE id = ?", (order_id,)).fetchone()
            if row is None:
                return None, False
            order: dict[str, Any] = json.loads(row["body"])
            if order.get("cancelled_at"):
                return order, False
            # updated_at only moves forward: the storefront takes an update no newer than the last as stale.
            last = datetime.fromisoformat(order["updated_at"])
            at = max(datetime.now(UTC), last + timedelta(microseconds=1)).isoformat(timespec="microseconds")
            order |= {"cancelled_at": at, "cancel_reason": reason, "updated_at": at}
            conn.execute("UPDATE orders SET body = ? WHERE id = ?", (json.dumps(order), order_id))
        return order, True

    # Fulfilments
    def add_fulfillment(self, *, order_id: int, fulfillment: dict[str, Any]) -> dict[str, Any] | None:
        """The fulfilment numbered and kept on the order (``None``: no such order)."""
        with self._connection(immediate=True) as conn:
            if conn.execute("SELECT 1 FROM orders WHERE id = ?", (order_id,)).fetchone() is None:
                return None
            cursor = conn.execute("INSERT INTO fulfillments (order_id, body) VALUES (?, '')", (order_id,))
            kept = {
                "id": cursor.lastrowid,
                "order_id": order_id,
                "status": "success",
                "created_at": now(),
                **fulfillment,
            }
            conn.execute("UPDATE fulfillments SET body = ? WHERE id = ?", (json.dumps(kept), cursor.lastrowid))
        return kept

    def fulfillments(self, *, order_id: int) -> list[dict[str, Any]] | None:
        """The order's fulfilments, oldest first (``None``: no such order)."""
        with self._connection() as conn:
            if conn.execute("SELECT 1 FROM orders WHERE id = ?", (order_id,)).fetchone() is None:
                return None
            rows = conn.execute("SELECT body FROM fulfillments WHERE order_id = ? ORDER BY id", (order_id,)).fetchall()
        return [json.loads(r["body"]) for r in rows]

    # Webhook deliveries
    def add_attempt(
        self,
        *,
        webhook_id: str,
        topic: str,
        order_id: int,
        attempt: int,
        status_code: int | None,
        response: str | None,
        error: str | None,
    ) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO webhook_deliveries (webhook_id, topic, order_id, attempt, status_code, response, error, "
                "at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (webhook_id, topic, order_id, attempt, status_code, response, error, now()),
            )

    def deliveries(self, *, order_id: int | None = None) -> list[dict[str, Any]]:
        with self._connection() as conn:
            rows = conn.execute("SELECT * FROM webhook_deliveries ORDER BY id").fetchall()
        return [dict(r) for r in rows if order_id is None or r["order_id"] == order_id]

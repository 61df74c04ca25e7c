"""The embedded event log's tables, and small helpers for its connection (see ``sqlite_log``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from contracts.events import CloudEvent
from service_kit.events.port import DeadLetter

SCHEMA = """
CREATE TABLE IF NOT EXISTS event_log (
    log_offset INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    subject TEXT,
    envelope TEXT NOT NULL,
    appended_at REAL NOT NULL
);
CREATE TRIGGER IF NOT EXISTS event_log_append_only BEFORE UPDATE ON event_log
BEGIN SELECT RAISE(ABORT, 'event_log is append-only'); END;
CREATE TABLE IF NOT EXISTS consumer_groups (
    name TEXT PRIMARY KEY,
    last_delivered INTEGER NOT NULL,
    committed INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    grp TEXT NOT NULL,
    log_offset INTEGER NOT NULL,
    consumer TEXT NOT NULL,
    lease_until REAL NOT NULL,
    deliveries INTEGER NOT NULL,
    last_error TEXT,
    PRIMARY KEY (grp, log_offset)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_due ON pending (grp, lease_until);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grp TEXT NOT NULL,
    log_offset INTEGER NOT NULL,
    deliveries INTEGER NOT NULL,
    error TEXT NOT NULL,
    dead_at REAL NOT NULL
);
"""


class write:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def dead_letter_rows(rows: Iterable[tuple[Any, ...]]) -> Iterable[DeadLetter]:
    for id_, group, offset, deliveries, error, dead_at, envelope in rows:
        yield DeadLetter(
            id=str(id_),
            group=group,
            message_id=str(offset),
            event=CloudEvent.model_validate_json(envelope),
            deliveries=deliveries,
            error=error,
            dead_at=datetime.fromtimestamp(dead_at, UTC),
        )


__all__ = ["SCHEMA", "dead_letter_rows", "write"]

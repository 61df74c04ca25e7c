"""What the storefront service's own small API answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from contracts.common import UtcDateTime


class DeadPush(BaseModel):
    sku: str
    available: int
    attempts: int
    last_error: str | None = None
    since: UtcDateTime


class SyncStatus(BaseModel):
    """SKUs by push state, and the dead letters (oldest first) waiting for a replay."""

    pending: int
    synced: int
    dead: int
    dead_letters: list[DeadPush]


class PushReplay(BaseModel):
    """A dead push queued again: the SKU, the level that will be sent, and its state (pending)."""

    sku: str
    available: int
    status: Literal["pending"] = "pending"

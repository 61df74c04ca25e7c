"""What the storefront service's own small API answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import CanonicalModel, Text, UtcDateTime


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


class PushReplayCreate(CanonicalModel):
    """Why the dead push is replayed, for the audit (who and when are recorded anyway)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "item mapped in the shop"}]})

    reason: Annotated[Text | None, Field(max_length=300, description="Why it is replayed, for the audit.")] = None


class PushReplay(BaseModel):
    """A dead push queued again (the level to send, pending), and who replayed it, when and why."""

    sku: str
    available: int
    status: Literal["pending"] = "pending"
    replayed_by: str | None = None
    reason: str | None = None
    requested_at: UtcDateTime | None = None

"""OAuth client events, published by the gateway through its outbox when an operator disables
or re-enables a client (``interchange clients disable|enable``). ``subject``: ``client/<client
id>``; ``entityversion``: microseconds since the epoch of the change, so a late redelivery of an
older change never overrides a newer one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field

from contracts.events.envelope import EventData

ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class ClientRevokedV1(EventData):
    """The client was disabled: every token issued to it at or before ``revoked_at`` is refused by
    every service, not only at the gateway; it gets no new ones."""

    event_type: ClassVar[str] = "com.interchange.client.revoked.v1"

    client_id: ClientId
    revoked_at: Annotated[datetime, Field(description="When the client was disabled (RFC 3339)")]


class ClientReinstatedV1(EventData):
    """The client was enabled again: its tokens are accepted again until they expire."""

    event_type: ClassVar[str] = "com.interchange.client.reinstated.v1"

    client_id: ClientId
    reinstated_at: Annotated[datetime, Field(description="When the client was enabled again (RFC 3339)")]


__all__ = ["ClientReinstatedV1", "ClientRevokedV1"]

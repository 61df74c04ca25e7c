"""The CloudEvents 1.0 envelope every Interchange event travels in (structured JSON mode).

Attribute names are the spec's (all lower case, no separators). Two extension attributes are
ours: ``correlationid`` carries the request's correlation id through every hop, and
``entityversion`` is the version of the entity named by ``subject`` after the change, so a
consumer can ignore an event older than one it has already applied. Unknown extension
attributes are kept (``extra="allow"``): a consumer tolerates them and a relay passes them on.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

#: ``com.interchange.<noun>.<past-verb>.v<N>``
EventType = Annotated[
    str,
    Field(
        pattern=r"^com\.interchange\.[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[1-9][0-9]*$",
        description="Reverse-DNS event type, versioned",
        examples=["com.interchange.stock.moved.v1"],
    ),
]


def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


class CloudEvent(BaseModel):
    """One event. ``data`` is the JSON object described by the type's schema (``EVENT_TYPES``)."""

    # The published schema describes the wire, where every attribute is present.
    model_config = ConfigDict(extra="allow", frozen=True, json_schema_serialization_defaults_required=True)

    specversion: Literal["1.0"] = "1.0"
    id: Annotated[str, Field(min_length=1, max_length=128, default_factory=_new_id)]
    source: Annotated[
        str, Field(min_length=1, max_length=255, description="URI-reference of the producer", examples=["/wms"])
    ]
    type: EventType
    time: Annotated[datetime, Field(default_factory=_now, description="When the change happened (RFC 3339)")]
    subject: Annotated[
        str | None,
        Field(max_length=255, description="The entity the event is about", examples=["sku/WIDGET-BLUE"]),
    ] = None
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    correlationid: Annotated[str | None, Field(max_length=128, description="Correlation id of the cause")] = None
    entityversion: Annotated[
        int | None, Field(ge=0, description="Version of the subject entity after this change; higher is newer")
    ] = None


class EventData(BaseModel):
    """Base of every event's ``data`` model. Consumers tolerate fields they do not know yet."""

    model_config = ConfigDict(extra="ignore", frozen=True, json_schema_serialization_defaults_required=True)

    #: The CloudEvents ``type`` this data is published under.
    event_type: ClassVar[str]


__all__ = ["CloudEvent", "EventData", "EventType"]

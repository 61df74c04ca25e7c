from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from contracts import EntryProblem
from contracts.common import CanonicalModel, Line, Text, UtcDateTime


class ActivityCreate(CanonicalModel):
    customer_id: Annotated[Line, Field(min_length=1, max_length=64, examples=["C-1001"])]
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$", examples=["order_accepted"])]
    subject: Annotated[Line, Field(min_length=1, max_length=200, examples=["Order MP-1001 accepted"])]
    reference: Annotated[Line | None, Field(max_length=100, examples=["ord_01"])] = None

    model_config = {
        **CanonicalModel.model_config,
        "json_schema_extra": {
            "examples": [
                {
                    "customer_id": "C-1001",
                    "kind": "order_accepted",
                    "subject": "Order MP-1001 accepted",
                    "reference": "ord_01",
                }
            ]
        },
    }


class Activity(ActivityCreate):
    id: str
    created_at: UtcDateTime


class ActivityList(CanonicalModel):
    items: list[Activity]


#: Activities one batch call may carry.
MAX_ACTIVITY_BATCH = 100


class ActivityBatchCreate(CanonicalModel):
    """Activities to record in one call; each is recorded on its own (one refused does not stop
    the others), and an entry with a reference once per customer, kind and reference."""

    entries: Annotated[list[ActivityCreate], Field(min_length=1, max_length=MAX_ACTIVITY_BATCH)]

    model_config = {
        **CanonicalModel.model_config,
        "json_schema_extra": {
            "examples": [
                {
                    "entries": [
                        {
                            "customer_id": "C-1001",
                            "kind": "order_accepted",
                            "subject": "Order MP-1001 accepted",
                            "reference": "ord_01",
                        }
                    ]
                }
            ]
        },
    }


class ActivityOutcome(StrEnum):
    recorded = "recorded"  # recorded by this call
    existing = "existing"  # recorded before for this customer, kind and reference: that activity
    refused = "refused"  # not recorded (see problem)


class ActivityBatchEntry(CanonicalModel):
    outcome: ActivityOutcome
    activity: Activity | None = None
    problem: EntryProblem | None = None


class ActivityBatchResult(CanonicalModel):
    """One result per entry, in the order of the entries."""

    results: list[ActivityBatchEntry]


class NoticeKind(StrEnum):
    shipment = "shipment"  # goods shipped, with carrier and tracking
    credit_memo = "credit_memo"  # returned goods credited


class CustomerNoticeCreate(CanonicalModel):
    """Tell a customer something (by e-mail to its account's address): once per kind and reference."""

    customer_id: Annotated[Line, Field(min_length=1, max_length=64, examples=["C-1001"])]
    kind: NoticeKind
    reference: Annotated[
        Line, Field(min_length=1, max_length=129, description="The shipment or return id", examples=["ASN-1"])
    ]
    message: Annotated[
        Text,
        Field(min_length=1, max_length=2000, examples=["Your order MP-1001 has shipped with DHL, tracking JD0001."]),
    ]

    model_config = {
        **CanonicalModel.model_config,
        "json_schema_extra": {
            "examples": [
                {
                    "customer_id": "C-1001",
                    "kind": "shipment",
                    "reference": "ASN-1",
                    "message": "Your order MP-1001 has shipped with DHL, tracking JD0001.",
                }
            ]
        },
    }


class CustomerNotice(CustomerNoticeCreate):
    id: str
    recipient: Annotated[str | None, Field(description="Where it went (the account's e-mail); null: none on file")]
    created_at: UtcDateTime


class CustomerNoticeList(CanonicalModel):
    items: list[CustomerNotice]

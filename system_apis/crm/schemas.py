from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contracts.common import CanonicalModel, Line, UtcDateTime


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

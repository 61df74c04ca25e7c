"""The CRM as the orders process sees it: the customer's activity timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from contracts.common import CanonicalModel
from process_apis.orders.clients.base import BaseClient, is_refusal, path_part, read_body, refused, unexpected


class ActivityCreate(CanonicalModel):
    customer_id: str
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]
    subject: Annotated[str, Field(min_length=1, max_length=200)]
    reference: str | None = None


class Activity(ActivityCreate):
    id: str
    created_at: datetime


class _Activities(CanonicalModel):
    items: list[Activity]


class CrmClient(BaseClient):
    system = "crm"

    async def find_activity(self, *, customer_id: str, kind: str, reference: str) -> Activity | None:
        resp = await self._api.get(f"/v1/customers/{path_part(customer_id)}/activities", **self._call())
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise unexpected(self.system, "an activity lookup", resp)
        timeline = read_body(_Activities, resp, system=self.system).items
        return next((a for a in timeline if a.kind == kind and a.reference == reference), None)

    async def record_activity(self, activity: ActivityCreate) -> Activity:
        # Not idempotent below, so never retried blindly (retry_safe=False); callers look for an
        # earlier one first.
        resp = await self._api.post(
            "/v1/activities", **self._call(json=activity.model_dump(mode="json"), retry_safe=False)
        )
        if resp.status_code in (200, 201):
            return read_body(Activity, resp, system=self.system)
        if resp.status_code == 404 or is_refusal(resp):
            raise refused(self.system, "record the activity", resp)
        raise unexpected(self.system, "an activity", resp)


__all__ = ["Activity", "ActivityCreate", "CrmClient"]

"""The CRM backend port. The reference adapter persists in this service's own database; a real
CRM (Salesforce, Dynamics) is one more adapter implementing the same Protocol."""

from __future__ import annotations

from typing import Protocol

from contracts import Customer
from system_apis.crm.schemas import Activity, ActivityCreate


class CrmBackend(Protocol):
    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def record_activity(self, activity: ActivityCreate) -> Activity: ...

    async def list_activities(self, customer_id: str) -> list[Activity]: ...

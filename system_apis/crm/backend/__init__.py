"""The CRM backend port. The reference adapter persists in this service's own database; a real
CRM (Salesforce, Dynamics) is one more adapter implementing the same Protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from contracts import Customer
from system_apis.crm.schemas import Activity, ActivityCreate, CustomerNotice, CustomerNoticeCreate, NoticeKind

#: An activity recorded once: (customer id, kind, reference).
ActivityKey = tuple[str, str, str]


class CrmBackend(Protocol):
    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def record_activity(self, activity: ActivityCreate) -> Activity: ...

    async def list_activities(self, customer_id: str) -> list[Activity]: ...

    async def known_customers(self, customer_ids: Sequence[str]) -> set[str]:
        """The customers among these that have a CRM account."""
        ...

    async def find_activities(self, keys: Sequence[ActivityKey]) -> dict[ActivityKey, Activity]:
        """The activities recorded under these (customer, kind, reference) keys."""
        ...

    async def add_activities(self, activities: Sequence[Activity]) -> None:
        """Record activities of customers that have an account (``known_customers``)."""
        ...

    # Customer notices, once per kind and reference.

    async def find_notice(self, *, kind: NoticeKind, reference: str) -> CustomerNotice | None: ...

    async def send_notice(self, notice: CustomerNoticeCreate) -> CustomerNotice | None:
        """Record and send it; None when the customer has no account."""
        ...

    async def list_notices(self, customer_id: str) -> list[CustomerNotice]: ...

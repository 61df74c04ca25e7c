"""CRM capabilities in business terms."""

from __future__ import annotations

from contracts import Customer
from service_kit.errors import NotFound
from system_apis.crm.backend import CrmBackend
from system_apis.crm.schemas import Activity, ActivityCreate


async def get_customer(*, backend: CrmBackend, customer_id: str) -> Customer:
    customer = await backend.get_customer(customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id!r} in the CRM.")
    return customer


async def record_activity(*, backend: CrmBackend, activity: ActivityCreate) -> Activity:
    return await backend.record_activity(activity)


async def customer_timeline(*, backend: CrmBackend, customer_id: str) -> list[Activity]:
    await get_customer(backend=backend, customer_id=customer_id)
    return await backend.list_activities(customer_id)

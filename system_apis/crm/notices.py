"""Customer notices in business terms: a customer is told once per kind and reference (a shipment
id, a return id); the same notice asked again answers the one sent first, so a retried saga step
never tells the customer twice."""

from __future__ import annotations

from service_kit.errors import Conflict, NotFound
from system_apis.crm.backend import CrmBackend
from system_apis.crm.schemas import CustomerNotice, CustomerNoticeCreate


async def send_notice(*, backend: CrmBackend, notice: CustomerNoticeCreate) -> tuple[CustomerNotice, bool]:
    """``(notice, True)`` when sent now, ``(sent before, False)`` for a kind and reference already
    told (its first message stands); the same kind and reference for another customer is a conflict."""
    sent = await backend.find_notice(kind=notice.kind, reference=notice.reference)
    if sent is None:
        created = await backend.send_notice(notice)
        if created is None:
            raise NotFound(f"No CRM account for customer {notice.customer_id!r}.")
        return created, True
    if sent.customer_id != notice.customer_id:
        raise Conflict(
            f"The {notice.kind.value} notice {notice.reference!r} was sent to another customer ({sent.customer_id})."
        )
    return sent, False


async def list_notices(*, backend: CrmBackend, customer_id: str) -> list[CustomerNotice]:
    if await backend.get_customer(customer_id) is None:
        raise NotFound(f"No customer {customer_id!r} in the CRM.")
    return await backend.list_notices(customer_id)

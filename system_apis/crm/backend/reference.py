"""The reference CRM: persists in the service's database and maps its native shape."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Customer, CustomerKind, CustomerStatus
from service_kit.errors import BusinessRuleViolation
from system_apis.crm.models import CrmAccount, CrmActivity
from system_apis.crm.schemas import Activity, ActivityCreate

_SEGMENT_TO_KIND = {"Consumer": CustomerKind.b2c, "Business": CustomerKind.b2b}


def to_customer(account: CrmAccount) -> Customer:
    return Customer(
        id=account.ErpCustomerNo,
        name=account.AccountName,
        kind=_SEGMENT_TO_KIND[account.Segment],
        status=CustomerStatus.active if account.IsActive else CustomerStatus.inactive,
        currency=account.CurrencyIsoCode,
        email=account.PrimaryEmail,
    )


def to_activity(row: CrmActivity, customer_id: str) -> Activity:
    return Activity(
        id=row.ActivityId,
        customer_id=customer_id,
        kind=row.Type,
        subject=row.Subject,
        reference=row.ExternalRef,
        created_at=row.CreatedDate,
    )


class ReferenceCrmBackend:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _account(self, customer_id: str) -> CrmAccount | None:
        stmt = select(CrmAccount).where(CrmAccount.ErpCustomerNo == customer_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_customer(self, customer_id: str) -> Customer | None:
        account = await self._account(customer_id)
        return to_customer(account) if account else None

    async def record_activity(self, activity: ActivityCreate) -> Activity:
        account = await self._account(activity.customer_id)
        if account is None:
            raise BusinessRuleViolation(f"No CRM account for customer {activity.customer_id!r}.")
        row = CrmActivity(
            ActivityId=f"act_{uuid.uuid4().hex}",
            AccountId=account.AccountId,
            Type=activity.kind,
            Subject=activity.subject,
            ExternalRef=activity.reference,
            CreatedDate=datetime.now(UTC),
        )
        self.session.add(row)
        await self.session.flush()
        return to_activity(row, activity.customer_id)

    async def list_activities(self, customer_id: str) -> list[Activity]:
        account = await self._account(customer_id)
        if account is None:
            return []
        stmt = select(CrmActivity).where(CrmActivity.AccountId == account.AccountId).order_by(CrmActivity.CreatedDate)
        return [to_activity(r, customer_id) for r in (await self.session.execute(stmt)).scalars()]

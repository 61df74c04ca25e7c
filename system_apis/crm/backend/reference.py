"""The reference CRM: persists in the service's database and maps its native shape."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Customer, CustomerKind, CustomerStatus
from service_kit.errors import BusinessRuleViolation
from system_apis.crm.backend import ActivityKey
from system_apis.crm.backend.reference_notices import ReferenceNotices
from system_apis.crm.models import CrmAccount, CrmActivity
from system_apis.crm.schemas import Activity, ActivityCreate

_SEGMENT_TO_KIND = {"Consumer": CustomerKind.b2c, "Business": CustomerKind.b2b}

_accounts = cast(Table, CrmAccount.__table__)
_activities = cast(Table, CrmActivity.__table__)
#: Records an activity on the customer's account in one statement (the account found by the
#: ERP customer number inside the insert), built once: no ORM unit of work, no account read first.
_RECORD_MANY = insert(_activities).from_select(
    ["ActivityId", "AccountId", "Type", "Subject", "ExternalRef", "CreatedDate"],
    select(
        bindparam("id"),
        _accounts.c.AccountId,
        bindparam("kind"),
        bindparam("subject"),
        bindparam("reference"),
        bindparam("at", type_=_activities.c.CreatedDate.type),
    ).where(_accounts.c.ErpCustomerNo == bindparam("customer_id")),
)
_RECORD: Any = _RECORD_MANY.returning(literal_column("1"))
_KNOWN = select(_accounts.c.ErpCustomerNo).where(_accounts.c.ErpCustomerNo.in_(bindparam("ids", expanding=True)))
_BY_REFERENCE = (
    select(
        _activities.c.ActivityId,
        _accounts.c.ErpCustomerNo,
        _activities.c.Type,
        _activities.c.Subject,
        _activities.c.ExternalRef,
        _activities.c.CreatedDate,
    )
    .join(_accounts, _accounts.c.AccountId == _activities.c.AccountId)
    .where(_activities.c.ExternalRef.in_(bindparam("refs", expanding=True)))
    # The first recorded wins where older single calls left more than one (they do not dedupe).
    .order_by(_activities.c.CreatedDate, _activities.c.ActivityId)
)


def _params(activity: Activity) -> dict[str, object]:
    return {
        "id": activity.id,
        "kind": activity.kind,
        "subject": activity.subject,
        "reference": activity.reference,
        "at": activity.created_at,
        "customer_id": activity.customer_id,
    }


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


class ReferenceCrmBackend(ReferenceNotices):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _account(self, customer_id: str) -> CrmAccount | None:
        stmt = select(CrmAccount).where(CrmAccount.ErpCustomerNo == customer_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_customer(self, customer_id: str) -> Customer | None:
        account = await self._account(customer_id)
        return to_customer(account) if account else None

    async def record_activity(self, activity: ActivityCreate) -> Activity:
        recorded = Activity(
            id=f"act_{uuid.uuid4().hex}",
            customer_id=activity.customer_id,
            kind=activity.kind,
            subject=activity.subject,
            reference=activity.reference,
            created_at=datetime.now(UTC),
        )
        conn = await self.session.connection()
        params = _params(recorded)
        if (await conn.execute(_RECORD, params)).first() is None:
            raise BusinessRuleViolation(f"No CRM account for customer {activity.customer_id!r}.")
        return recorded

    async def list_activities(self, customer_id: str) -> list[Activity]:
        account = await self._account(customer_id)
        if account is None:
            return []
        stmt = select(CrmActivity).where(CrmActivity.AccountId == account.AccountId).order_by(CrmActivity.CreatedDate)
        return [to_activity(r, customer_id) for r in (await self.session.execute(stmt)).scalars()]

    # Batches -----------------------------------------------------------------------------------

    async def known_customers(self, customer_ids: Sequence[str]) -> set[str]:
        conn = await self.session.connection()
        return set((await conn.execute(_KNOWN, {"ids": list(set(customer_ids))})).scalars())

    async def find_activities(self, keys: Sequence[ActivityKey]) -> dict[ActivityKey, Activity]:
        conn = await self.session.connection()
        wanted = set(keys)
        rows = (await conn.execute(_BY_REFERENCE, {"refs": list({key[2] for key in wanted})})).all()
        found: dict[ActivityKey, Activity] = {}
        for row in rows:
            key = (row.ErpCustomerNo, row.Type, row.ExternalRef)
            if key in wanted and key not in found:
                found[key] = Activity(
                    id=row.ActivityId,
                    customer_id=row.ErpCustomerNo,
                    kind=row.Type,
                    subject=row.Subject,
                    reference=row.ExternalRef,
                    created_at=row.CreatedDate,
                )
        return found

    async def add_activities(self, activities: Sequence[Activity]) -> None:
        """Records activities of customers known to have an account, with one statement."""
        if activities:
            conn = await self.session.connection()
            await conn.execute(_RECORD_MANY, [_params(activity) for activity in activities])

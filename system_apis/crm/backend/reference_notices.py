"""The reference CRM's customer notices: native ``crm_notices`` rows (NoticeType ShipmentNotice /
CreditMemoNotice, sent by e-mail to the account's primary address), one per type and reference."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service_kit.errors import Conflict
from system_apis.crm.models import CrmAccount, CrmNotice
from system_apis.crm.schemas import CustomerNotice, CustomerNoticeCreate, NoticeKind

_TYPE = {NoticeKind.shipment: "ShipmentNotice", NoticeKind.credit_memo: "CreditMemoNotice"}
_KIND = {native: kind for kind, native in _TYPE.items()}


def _notice(row: CrmNotice, customer_id: str) -> CustomerNotice:
    return CustomerNotice(
        id=row.NoticeId,
        customer_id=customer_id,
        kind=_KIND[row.NoticeType],
        reference=row.ExternalRef,
        message=row.Body,
        recipient=row.Recipient,
        created_at=row.CreatedDate,
    )


class ReferenceNotices:
    session: AsyncSession

    async def find_notice(self, *, kind: NoticeKind, reference: str) -> CustomerNotice | None:
        stmt = (
            select(CrmNotice, CrmAccount.ErpCustomerNo)
            .join(CrmAccount, CrmAccount.AccountId == CrmNotice.AccountId)
            .where(CrmNotice.NoticeType == _TYPE[kind], CrmNotice.ExternalRef == reference)
        )
        found = (await self.session.execute(stmt)).first()
        return _notice(found[0], found[1]) if found else None

    async def send_notice(self, notice: CustomerNoticeCreate) -> CustomerNotice | None:
        """Record it on the customer's account (None: no account); ``Conflict`` when another request
        recorded the same kind and reference meanwhile."""
        account = await self.session.scalar(select(CrmAccount).where(CrmAccount.ErpCustomerNo == notice.customer_id))
        if account is None:
            return None
        row = CrmNotice(
            NoticeId=f"ntc_{uuid.uuid4().hex}",
            AccountId=account.AccountId,
            NoticeType=_TYPE[notice.kind],
            ExternalRef=notice.reference,
            Channel="Email",
            Recipient=account.PrimaryEmail,
            Body=notice.message,
            CreatedDate=datetime.now(UTC),
        )
        self.session.add(row)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"The {notice.kind.value} notice {notice.reference!r} is being sent by another request."
            ) from exc
        return _notice(row, notice.customer_id)

    async def list_notices(self, customer_id: str) -> list[CustomerNotice]:
        stmt = (
            select(CrmNotice)
            .join(CrmAccount, CrmAccount.AccountId == CrmNotice.AccountId)
            .where(CrmAccount.ErpCustomerNo == customer_id)
            .order_by(CrmNotice.CreatedDate, CrmNotice.NoticeId)
        )
        return [_notice(row, customer_id) for row in (await self.session.execute(stmt)).scalars()]

"""Setting a marketplace partner up, for operators (``interchange partners onboard``): its ERP
account link, its listings, its field mapping (``dialect_mapping``) and its webhook
subscriptions, all in the request's one transaction, so a refused part leaves nothing written.

``set_up_partner`` is idempotent: the account, listings and mapping become what the request
says (a listing it leaves out is removed), and a webhook subscription is made only for a URL the
partner has none for; running it again completes an onboarding that stopped half-way. A signing
secret is answered only when its subscription is made.

``remove_partner`` undoes a fresh onboarding: the CLI calls it when the gateway refuses the
partner's client after this step; a partner that has submitted orders is refused (disable its
client instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from experience_apis.marketplace import dialect_mapping
from experience_apis.marketplace.models import Listing, PartnerAccount, PartnerFieldMapping, SubmittedOrder
from experience_apis.marketplace.schemas import CurrencyCode, SellerSku
from experience_apis.marketplace.schemas_channel import WebhookEventType
from service_kit import webhooks
from service_kit.errors import Conflict, NotFound, UnprocessableContent
from service_kit.webhooks import WebhookPolicy

#: A partner id: also its client id at the gateway.
PARTNER_ID = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListingSetup(_Body):
    seller_sku: SellerSku
    sku: Annotated[str, Field(min_length=1, max_length=64, description="The canonical SKU it sells.")]


class WebhookSetup(_Body):
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    event_types: Annotated[list[WebhookEventType], Field(min_length=1, max_length=10)]
    description: Annotated[str | None, Field(max_length=200)] = None


class PartnerSetup(_Body):
    """What a marketplace partner is set up with."""

    customer_id: Annotated[str, Field(min_length=1, max_length=64, description="The ERP account billed.")]
    currency: CurrencyCode
    listings: Annotated[list[ListingSetup], Field(max_length=10_000)] = []
    field_mapping: Annotated[
        dict[str, Any] | None,
        Field(description="The partner's own order dialect (dialect_mapping.DialectMapping); null: none."),
    ] = None
    webhooks: Annotated[list[WebhookSetup], Field(max_length=10)] = []


class WebhookSetupRead(BaseModel):
    id: str
    url: str
    event_types: list[str]
    secret: str | None = Field(description="Only when the subscription was made by this call: keep it now.")


class PartnerSetupRead(BaseModel):
    partner_id: str
    created: bool = Field(description="The partner was not set up before this call.")
    listings: int
    field_mapping: bool
    webhooks: list[WebhookSetupRead]


class PartnerRemoved(BaseModel):
    partner_id: str
    removed: bool = True


class PartnerAdminRepository:
    """The partner's master data, for the operator's calls (SQL only; the request commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def account(self, partner_id: str) -> PartnerAccount | None:
        return await self.session.get(PartnerAccount, partner_id)

    async def put_account(self, *, partner_id: str, customer_id: str, currency: str) -> bool:
        """True when the account is new."""
        found = await self.account(partner_id)
        if found is None:
            self.session.add(PartnerAccount(partner_id=partner_id, customer_id=customer_id, currency=currency))
            return True
        found.customer_id, found.currency = customer_id, currency
        return False

    async def replace_listings(self, *, partner_id: str, listings: Sequence[ListingSetup]) -> None:
        await self.session.execute(delete(Listing).where(Listing.partner_id == partner_id))
        seen: dict[str, str] = {listing.seller_sku: listing.sku for listing in listings}
        self.session.add_all(Listing(partner_id=partner_id, seller_sku=s, sku=sku) for s, sku in seen.items())

    async def put_mapping(self, *, partner_id: str, mapping: dict[str, Any] | None) -> None:
        found = await self.session.get(PartnerFieldMapping, partner_id)
        if mapping is None:
            if found is not None:
                await self.session.delete(found)
            return
        now = datetime.now(UTC)
        if found is None:
            self.session.add(PartnerFieldMapping(partner_id=partner_id, mapping=mapping, updated_at=now))
        else:
            found.mapping, found.updated_at = mapping, now

    async def has_orders(self, partner_id: str) -> bool:
        count = await self.session.scalar(
            select(func.count()).select_from(SubmittedOrder).where(SubmittedOrder.partner_id == partner_id)
        )
        return bool(count)

    async def remove(self, partner_id: str) -> None:
        for table in (Listing, PartnerFieldMapping, PartnerAccount):
            await self.session.execute(delete(table).where(table.partner_id == partner_id))


def check_mapping(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The mapping as it will be stored (its canonical form), or a 422 naming each field at fault
    under ``#/field_mapping``."""
    if document is None:
        return None
    try:
        compiled = dialect_mapping.compile_mapping(document)
    except ValidationError as exc:
        errors = dialect_mapping.mapping_errors(exc, prefix="#/field_mapping")
        raise UnprocessableContent(
            f"The field mapping is not valid: {errors[0]['pointer']}: {errors[0]['detail']}", errors=errors
        ) from None
    return compiled.mapping.model_dump(mode="json", by_alias=True, exclude_none=True)


async def set_up_partner(
    *, session: AsyncSession, partner_id: str, setup: PartnerSetup, policy: WebhookPolicy
) -> PartnerSetupRead:
    mapping = check_mapping(setup.field_mapping)
    repository = PartnerAdminRepository(session)
    created = await repository.put_account(
        partner_id=partner_id, customer_id=setup.customer_id, currency=setup.currency
    )
    await repository.replace_listings(partner_id=partner_id, listings=setup.listings)
    await repository.put_mapping(partner_id=partner_id, mapping=mapping)
    subscribed = await _subscribe(session=session, partner_id=partner_id, wanted=setup.webhooks, policy=policy)
    await session.flush()
    return PartnerSetupRead(
        partner_id=partner_id,
        created=created,
        listings=len({listing.seller_sku for listing in setup.listings}),
        field_mapping=mapping is not None,
        webhooks=subscribed,
    )


async def _subscribe(
    *, session: AsyncSession, partner_id: str, wanted: Sequence[WebhookSetup], policy: WebhookPolicy
) -> list[WebhookSetupRead]:
    existing = {s.url: s for s in await webhooks.list_subscriptions(session=session, owner=partner_id)}
    answered = []
    for i, hook in enumerate(wanted):
        if (found := existing.get(hook.url)) is not None:
            answered.append(WebhookSetupRead(id=found.id, url=found.url, event_types=found.event_types, secret=None))
            continue
        try:
            registered = await webhooks.register_subscription(
                session=session,
                owner=partner_id,
                url=hook.url,
                event_types=[t.value for t in hook.event_types],
                description=hook.description,
                policy=policy,
            )
        except UnprocessableContent as exc:  # the target is refused: point at this webhook's url
            detail = exc.detail
            raise UnprocessableContent(
                f"webhooks[{i}].url: {detail}",
                errors=[{"pointer": f"#/webhooks/{i}/url", "in": "body", "detail": detail}],
            ) from None
        subscription = registered.subscription
        existing[hook.url] = subscription
        answered.append(
            WebhookSetupRead(
                id=subscription.id, url=subscription.url, event_types=subscription.event_types, secret=registered.secret
            )
        )
    return answered


async def remove_partner(*, session: AsyncSession, partner_id: str) -> None:
    repository = PartnerAdminRepository(session)
    if await repository.account(partner_id) is None:
        raise NotFound(f"No marketplace partner {partner_id!r}.")
    if await repository.has_orders(partner_id):
        raise Conflict(
            f"The partner {partner_id!r} has submitted orders: it cannot be removed; disable its client instead."
        )
    for subscription in await webhooks.list_subscriptions(session=session, owner=partner_id):
        await webhooks.delete_subscription(session=session, owner=partner_id, subscription_id=subscription.id)
    await repository.remove(partner_id)


__all__ = [
    "PARTNER_ID",
    "PartnerRemoved",
    "PartnerSetup",
    "PartnerSetupRead",
    "remove_partner",
    "set_up_partner",
]

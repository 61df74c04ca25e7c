"""What the routes share: the partner the call is for (the token's, with the operation's scope),
the process API clients, and the documented answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.scopes import (
    FULFILLMENT_REQUESTS_READ,
    FULFILLMENT_RETURNS_WRITE,
    FULFILLMENT_SHIPMENTS_WRITE,
    FULFILLMENT_STOCK_WRITE,
)
from experience_apis.fulfillment_partners import service
from experience_apis.fulfillment_partners.clients import FulfillmentApi, InventoryApi
from experience_apis.fulfillment_partners.models import FulfillmentPartner
from service_kit.app import upstream
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.errors import Forbidden
from service_kit.openapi import problem_doc
from service_kit.webhooks import WebhookPolicy


async def _account(principal: Principal, session: AsyncSession) -> FulfillmentPartner:
    # A partner acts only as itself: the partner is the token's own, never a parameter or header.
    if not principal.partner_id:
        raise Forbidden("This API is for fulfilment partners; the access token names no partner.")
    return await service.partner(session=session, partner_id=principal.partner_id)


async def _request_reader(
    principal: Annotated[Principal, require(FULFILLMENT_REQUESTS_READ)], session: SessionDep
) -> FulfillmentPartner:
    return await _account(principal, session)


async def _shipper(
    principal: Annotated[Principal, require(FULFILLMENT_SHIPMENTS_WRITE)], session: SessionDep
) -> FulfillmentPartner:
    return await _account(principal, session)


async def _returns_receiver(
    principal: Annotated[Principal, require(FULFILLMENT_RETURNS_WRITE)], session: SessionDep
) -> FulfillmentPartner:
    return await _account(principal, session)


async def _stock_counter(
    principal: Annotated[Principal, require(FULFILLMENT_STOCK_WRITE)], session: SessionDep
) -> FulfillmentPartner:
    return await _account(principal, session)


async def _fulfillment(request: Request) -> FulfillmentApi:
    return FulfillmentApi(upstream(request.app, "fulfillment"))


async def _inventory(request: Request) -> InventoryApi:
    return InventoryApi(upstream(request.app, "inventory"))


async def _webhook_policy(request: Request) -> WebhookPolicy:
    policy: WebhookPolicy = request.app.state.webhook_policy
    return policy


RequestReader = Annotated[FulfillmentPartner, Depends(_request_reader)]
Shipper = Annotated[FulfillmentPartner, Depends(_shipper)]
ReturnsReceiver = Annotated[FulfillmentPartner, Depends(_returns_receiver)]
StockCounter = Annotated[FulfillmentPartner, Depends(_stock_counter)]
Fulfillment = Annotated[FulfillmentApi, Depends(_fulfillment)]
Inventory = Annotated[InventoryApi, Depends(_inventory)]
Policy = Annotated[WebhookPolicy, Depends(_webhook_policy)]

FORBIDDEN = problem_doc("The token lacks the scope, or its client is not set up as a fulfilment partner.")
UPSTREAM: dict[int | str, dict[str, Any]] = {
    502: problem_doc("A service behind this API failed; send the request again later."),
    503: problem_doc("A system behind this API is unavailable for now; send the request again after Retry-After."),
    504: problem_doc("A service behind this API did not answer in time; send the request again later."),
}

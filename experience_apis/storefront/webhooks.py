"""Storefront orders in: signed order webhooks -> canonical orders through the orders API.

A delivery is checked, then acted on, then recorded:

1. The signature (HMAC-SHA256 of the raw body with the shop's sealed secret) before anything
   else: a bad one is a 401 and nothing is read or written past the shop's secret.
2. A delivery id already taken is answered 200 ``duplicate`` and changes nothing; an update older
   than (or as old as) the one already taken for that order is recorded and answered ``stale``:
   an older update never overwrites a newer one.
3. A new order (create, or an update of an order not yet handed on) is submitted to the orders
   API under the key ``storefront:<shop>:<order id>``; a cancellation (topic, or ``cancelled_at``)
   is sent as the order's cancel under its own key. Both are idempotent there, and no database
   connection is held over the call.
4. The delivery and the order's latest ``updated_at`` (with its canonical order) are written in
   one transaction. If that fails (or the call before it), nothing is recorded and the
   storefront's retry of the same delivery does it again, landing on the same answers upstream; a
   delivery taken twice at once is recorded once (the delivery id is the primary key).

Edits after intake (new lines or quantities on an order already handed on) are recorded, not
forwarded: the orders API has no amendment yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from contracts import OrderCreate
from experience_apis.storefront import mapping
from experience_apis.storefront import webhook_repository as repository
from experience_apis.storefront.models import StorefrontOrder, StorefrontShop
from experience_apis.storefront.orders_client import OrdersApi
from experience_apis.storefront.signatures import is_signed_by
from experience_apis.storefront.webhook_schemas import Topic, WebhookOrder, WebhookOutcome, WebhookReceipt
from service_kit.db import Database
from service_kit.errors import Unauthorized, UnprocessableContent
from service_kit.secrets import SecretBox

HMAC_HEADER = "X-Storefront-Hmac-Sha256"
_CHALLENGE = {"WWW-Authenticate": f'HMAC-SHA256 realm="storefront-webhooks", header="{HMAC_HEADER}"'}


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    shop_domain: str
    topic: str
    signature: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class _Shop:
    partner_id: str
    customer_id: str
    currency: str


def _utc(at: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored as UTC): compare in UTC either way."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


async def _verified_shop(*, db: Database, box: SecretBox, delivery: Delivery) -> _Shop:
    secret, known = "", None
    async with db.sessions() as session:
        shop = await repository.get_shop(session, shop_domain=delivery.shop_domain)
        if shop is not None:
            secret = box.open(shop.webhook_secret)
            known = _Shop(partner_id=shop.partner_id, customer_id=shop.customer_id, currency=shop.currency)
    # The same answer for an unknown shop as for a bad signature: nothing to learn from it.
    if known is None or not is_signed_by(secret=secret, body=delivery.body, header=delivery.signature):
        raise Unauthorized(
            f"The webhook's {HMAC_HEADER} is not the HMAC-SHA256 of its body with this shop's webhook secret.",
            headers=dict(_CHALLENGE),
        )
    return known


def _parse(delivery: Delivery, shop: _Shop) -> tuple[Topic, WebhookOrder, OrderCreate]:
    try:
        topic = Topic(delivery.topic)
    except ValueError:
        raise UnprocessableContent(
            f"Unknown webhook topic {delivery.topic!r}; this endpoint takes {', '.join(t.value for t in Topic)}.",
            errors=[{"pointer": "#", "detail": "X-Storefront-Topic is not an order topic"}],
        ) from None
    try:
        order = WebhookOrder.model_validate_json(delivery.body)
        canonical = mapping.to_order_create(order, customer_id=shop.customer_id)
    except ValidationError as exc:
        errors = [
            {"pointer": "#/" + "/".join(str(p) for p in err["loc"]), "detail": err["msg"]} for err in exc.errors()
        ]
        raise UnprocessableContent("The webhook's order is not valid.", errors=errors) from None
    return topic, order, canonical


async def receive_order(*, db: Database, box: SecretBox, orders: OrdersApi, delivery: Delivery) -> WebhookReceipt:
    shop = await _verified_shop(db=db, box=box, delivery=delivery)
    topic, order, canonical = _parse(delivery, shop)
    storefront_order_id = mapping.channel_order_id(order)
    updated_at = _utc(order.updated_at)

    async with db.transaction() as session:
        row = await repository.get_order(
            session, shop_domain=delivery.shop_domain, storefront_order_id=storefront_order_id
        )
        if await repository.delivery_taken(session, delivery_id=delivery.delivery_id) is not None:
            return WebhookReceipt(
                delivery_id=delivery.delivery_id,
                outcome=WebhookOutcome.duplicate,
                order_id=row.order_id if row else None,
            )
        if row is not None and _utc(row.updated_at) >= updated_at:
            repository.add_delivery(
                session,
                delivery_id=delivery.delivery_id,
                shop_domain=delivery.shop_domain,
                topic=topic.value,
                storefront_order_id=storefront_order_id,
                outcome=WebhookOutcome.stale.value,
                at=datetime.now(UTC),
            )
            return WebhookReceipt(delivery_id=delivery.delivery_id, outcome=WebhookOutcome.stale, order_id=row.order_id)
        order_id = row.order_id if row else None

    key = f"storefront:{delivery.shop_domain}:{storefront_order_id}"
    cancelling = topic is Topic.cancelled or order.cancelled_at is not None
    outcome = WebhookOutcome.recorded
    if cancelling:
        if order_id is not None:
            taken = await orders.cancel_order(
                order_id=order_id,
                reason=f"cancelled in the storefront ({order.cancel_reason or 'no reason given'})",
                partner_id=shop.partner_id,
                idempotency_key=f"{key}:cancel",
            )
            if taken:  # else too late (shipped): recorded, the order shows why
                outcome = WebhookOutcome.cancelled
    elif order_id is None:
        accepted = await orders.submit_order(order=canonical, partner_id=shop.partner_id, idempotency_key=key)
        order_id, outcome = accepted.id, WebhookOutcome.submitted

    try:
        async with db.transaction() as session:
            repository.add_delivery(
                session,
                delivery_id=delivery.delivery_id,
                shop_domain=delivery.shop_domain,
                topic=topic.value,
                storefront_order_id=storefront_order_id,
                outcome=outcome.value,
                at=datetime.now(UTC),
            )
            row = await repository.get_order(
                session, shop_domain=delivery.shop_domain, storefront_order_id=storefront_order_id
            )
            if row is None:
                repository.add_order(
                    session,
                    StorefrontOrder(
                        shop_domain=delivery.shop_domain,
                        storefront_order_id=storefront_order_id,
                        order_id=order_id,
                        updated_at=updated_at,
                        cancelled=cancelling,
                    ),
                )
            else:
                row.order_id = row.order_id or order_id
                if _utc(row.updated_at) < updated_at:  # else a newer update landed meanwhile: it stays
                    row.updated_at, row.cancelled = updated_at, row.cancelled or cancelling
    except IntegrityError:
        # The same delivery taken at the same moment by another request: that one is recorded.
        return WebhookReceipt(delivery_id=delivery.delivery_id, outcome=WebhookOutcome.duplicate, order_id=order_id)
    return WebhookReceipt(delivery_id=delivery.delivery_id, outcome=outcome, order_id=order_id)


async def configure_shop(
    *, db: Database, box: SecretBox, shop_domain: str, secret: str, partner_id: str, customer_id: str, currency: str
) -> None:
    """The shop of the settings, its webhook secret sealed at rest (written again when it changed)."""
    async with db.transaction() as session:
        shop = await repository.get_shop(session, shop_domain=shop_domain)
        if shop is None:
            shop = StorefrontShop(shop_domain=shop_domain)
            repository.add_shop(session, shop)
        elif box.open(shop.webhook_secret) == secret:
            secret = ""
        if secret:
            shop.webhook_secret = box.seal(secret)
        shop.partner_id, shop.customer_id, shop.currency = partner_id, customer_id, currency


__all__ = ["HMAC_HEADER", "Delivery", "configure_shop", "receive_order"]

"""Webhook subscriptions for new fulfilment requests (scope fulfillment:requests.read: a push of
what the partner may read). HTTP only: parse, call one service function, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from experience_apis.fulfillment_partners import webhooks
from experience_apis.fulfillment_partners.dependencies import FORBIDDEN, Policy, RequestReader
from experience_apis.fulfillment_partners.schemas_webhooks import (
    DeliveryList,
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
)
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["fulfillment_partners"])

WebhookId = Annotated[
    str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$", examples=["whsub_5f0c6f0e2b9d4a8e"])
]
DeliveryId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$", examples=["msg_2b9d4a8e"])]
NO_WEBHOOK = problem_doc("You have no webhook subscription with this id.")
SIGNING = (
    'Each delivery is a POST of `{"type", "timestamp", "data"}` signed per Standard Webhooks: headers '
    "`webhook-id` (the same on every retry: dedupe on it), `webhook-timestamp` and `webhook-signature` "
    "(`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the secret). `fulfillment.requested` "
    "carries the new request as `GET /fulfillment-requests/{request_id}` answers it. Any 2xx is success; "
    "redirects are not followed; failed deliveries are retried over about three days, then parked as `dead` "
    "until replayed."
)


@router.post(
    "/webhooks",
    status_code=201,
    operation_id="createFulfillmentWebhook",
    summary="Subscribe a URL to new fulfilment requests",
    description="Answers the subscription with its signing `secret`, shown this once. The URL must be http(s) "
    "and resolve to public addresses only (others are refused with a 422 at `#/url`). No Idempotency-Key: "
    f"sending it again makes a second subscription. {SIGNING}",
    responses={
        201: {"description": "Subscribed; keep the `secret` to verify signatures."},
        403: FORBIDDEN,
        422: problem_doc("The body is not valid, or the URL is not a permitted target; `errors` names it."),
    },
)
async def create_webhook(
    body: WebhookCreate, account: RequestReader, session: SessionDep, policy: Policy
) -> WebhookCreated:
    return await webhooks.register_webhook(session=session, partner_id=account.partner_id, body=body, policy=policy)


@router.get(
    "/webhooks",
    operation_id="listFulfillmentWebhooks",
    summary="Your webhook subscriptions",
    responses={403: FORBIDDEN},
)
async def list_webhooks(account: RequestReader, session: SessionDep) -> WebhookList:
    return WebhookList(items=await webhooks.list_webhooks(session=session, partner_id=account.partner_id))


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    operation_id="deleteFulfillmentWebhook",
    summary="Unsubscribe",
    description="Nothing more is sent; deliveries still waiting for a retry are parked as dead.",
    responses={204: {"description": "Unsubscribed."}, 403: FORBIDDEN, 404: NO_WEBHOOK},
)
async def delete_webhook(webhook_id: WebhookId, account: RequestReader, session: SessionDep) -> Response:
    await webhooks.delete_webhook(session=session, partner_id=account.partner_id, webhook_id=webhook_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    operation_id="listFulfillmentWebhookDeliveries",
    summary="A subscription's deliveries, newest first",
    responses={403: FORBIDDEN, 404: NO_WEBHOOK},
)
async def list_deliveries(
    webhook_id: WebhookId,
    account: RequestReader,
    session: SessionDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    items = await webhooks.list_webhook_deliveries(
        session=session, partner_id=account.partner_id, webhook_id=webhook_id, status=status, limit=limit
    )
    return DeliveryList(items=items)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    operation_id="replayFulfillmentWebhookDelivery",
    summary="Send a dead delivery again",
    description="The same `webhook-id` and body, with the retry schedule started afresh.",
    responses={
        202: {"description": "Queued again."},
        403: FORBIDDEN,
        404: problem_doc("No such subscription, or no such delivery of it."),
        409: problem_doc("The delivery is not dead (it is delivered, or still being retried)."),
    },
)
async def replay_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, account: RequestReader, session: SessionDep
) -> DeliveryRead:
    return await webhooks.replay_webhook_delivery(
        session=session, partner_id=account.partner_id, webhook_id=webhook_id, delivery_id=delivery_id
    )

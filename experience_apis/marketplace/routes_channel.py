"""The availability feed and webhook subscriptions, the same on every version of the dialect
(``build_router(version="v1")``). HTTP only: parse, call one service function, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from experience_apis.marketplace import channel
from experience_apis.marketplace.dependencies import FORBIDDEN, AvailabilityPartner, Policy, WebhooksPartner
from experience_apis.marketplace.schemas_channel import (
    AvailabilityFeed,
    DeliveryList,
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
)
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc

WebhookId = Annotated[
    str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$", examples=["whsub_5f0c6f0e2b9d4a8e"])
]
DeliveryId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$", examples=["msg_2b9d4a8e"])]
NO_WEBHOOK = problem_doc("This partner has no webhook subscription with this id.")
SIGNING = (
    'Each delivery is a POST of `{"type", "timestamp", "data"}` signed per Standard Webhooks: headers '
    "`webhook-id` (the same on every retry: dedupe on it), `webhook-timestamp` and `webhook-signature` "
    "(`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the secret). Any 2xx is success; "
    "redirects are not followed. Failed deliveries are retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, "
    "20 h and 24 h, then parked as `dead` until replayed."
)


def build_router(*, version: str) -> APIRouter:
    suffix = "" if version == "v1" else version.upper()
    router = APIRouter(prefix=f"/{version}", tags=["marketplace"])

    @router.get(
        "/availability",
        operation_id=f"getAvailabilityFeed{suffix}",
        summary="Poll stock changes of the partner's listings",
        description="Changes after `since` (from the beginning when absent), oldest first, each listing at most "
        "once with its latest level. Keep `next_cursor` and pass it as `since` next time: no change is skipped "
        "or repeated. Only this partner's listings appear.",
        responses={403: FORBIDDEN},
    )
    async def get_availability(
        partner_id: AvailabilityPartner,
        session: SessionDep,
        since: Annotated[str, Query(pattern=r"^[0-9]{1,18}$", examples=["42"])] = "0",
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> AvailabilityFeed:
        return await channel.read_availability_feed(session=session, partner_id=partner_id, since=since, limit=limit)

    @router.post(
        "/webhooks",
        status_code=201,
        operation_id=f"createWebhook{suffix}",
        summary="Subscribe a URL to events",
        description="Answers the subscription with its signing `secret`, shown this once. The URL must be http(s) "
        "and resolve to public addresses only (private, loopback and link-local targets are refused with a 422 at "
        f"`#/url`). No Idempotency-Key: sending it again makes a second subscription; list and delete to tidy up. "
        f"{SIGNING}",
        responses={
            201: {"description": "Subscribed; keep the `secret` to verify signatures."},
            403: FORBIDDEN,
            422: {"description": "The body is not valid, or the URL is not a permitted target; `errors` names it."},
        },
    )
    async def create_webhook(
        body: WebhookCreate, partner_id: WebhooksPartner, session: SessionDep, policy: Policy
    ) -> WebhookCreated:
        return await channel.register_webhook(session=session, partner_id=partner_id, body=body, policy=policy)

    @router.get(
        "/webhooks",
        operation_id=f"listWebhooks{suffix}",
        summary="List the partner's webhook subscriptions",
        responses={403: FORBIDDEN},
    )
    async def list_webhooks(partner_id: WebhooksPartner, session: SessionDep) -> WebhookList:
        return WebhookList(items=await channel.list_webhooks(session=session, partner_id=partner_id))

    @router.delete(
        "/webhooks/{webhook_id}",
        status_code=204,
        operation_id=f"deleteWebhook{suffix}",
        summary="Unsubscribe",
        description="Nothing more is sent; deliveries still waiting for a retry are parked as dead.",
        responses={204: {"description": "Unsubscribed."}, 403: FORBIDDEN, 404: NO_WEBHOOK},
    )
    async def delete_webhook(webhook_id: WebhookId, partner_id: WebhooksPartner, session: SessionDep) -> Response:
        await channel.delete_webhook(session=session, partner_id=partner_id, webhook_id=webhook_id)
        return Response(status_code=204)

    @router.get(
        "/webhooks/{webhook_id}/deliveries",
        operation_id=f"listWebhookDeliveries{suffix}",
        summary="List a subscription's deliveries, newest first",
        description="`pending`: queued or waiting for a retry; `delivered`: answered 2xx; `dead`: every attempt "
        "failed, replay it once the endpoint works.",
        responses={403: FORBIDDEN, 404: NO_WEBHOOK},
    )
    async def list_deliveries(
        webhook_id: WebhookId,
        partner_id: WebhooksPartner,
        session: SessionDep,
        status: DeliveryStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> DeliveryList:
        items = await channel.list_webhook_deliveries(
            session=session, partner_id=partner_id, webhook_id=webhook_id, status=status, limit=limit
        )
        return DeliveryList(items=items)

    @router.post(
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
        status_code=202,
        operation_id=f"replayWebhookDelivery{suffix}",
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
        webhook_id: WebhookId, delivery_id: DeliveryId, partner_id: WebhooksPartner, session: SessionDep
    ) -> DeliveryRead:
        return await channel.replay_webhook_delivery(
            session=session, partner_id=partner_id, webhook_id=webhook_id, delivery_id=delivery_id
        )

    return router

"""Orders in the partner's own field dialect (version 2 of the API): for a partner onboarded with
a field mapping (``interchange partners onboard --mapping FILE``). HTTP only: parse, call one
service function, answer as version 2 does.

A separate operation, not a branch of ``POST /v2/orders``: the gateway validates that
operation's body against the version 2 schema before it reaches this service, so an order in
another dialect has to arrive on an operation that publishes a free-form body. Version 2 intake is
unchanged by it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response

from experience_apis.marketplace import dialect_orders, mapping_v2
from experience_apis.marketplace.dependencies import (
    FORBIDDEN,
    LOCATION,
    SUBMIT_CONFLICT,
    UPSTREAM,
    Orders,
    RequiredKey,
    Store,
    WritingPartner,
)
from experience_apis.marketplace.dialect_orders import MappingDirectory
from experience_apis.marketplace.schemas_v2 import MarketplaceOrderAcceptedV2
from service_kit.db import ReadConnDep
from service_kit.openapi import OperationExamples

router = APIRouter(prefix="/v2", tags=["marketplace"])


async def _mappings(request: Request) -> MappingDirectory:
    state = request.app.state
    found: MappingDirectory | None = getattr(state, "partner_mappings", None)
    if found is None:  # one per process, made on first use
        found = state.partner_mappings = MappingDirectory()
    return found


Mappings = Annotated[MappingDirectory, Depends(_mappings)]
PartnerOrder = Annotated[
    dict[str, Any],
    Body(
        description="The order as the partner's own system words it; the partner's field mapping says which "
        "field is which."
    ),
]

#: The contract's examples (``service_kit.openapi.add_examples``): Globex's dialect, as in
#: tests/fixtures/onboarding and docs/onboarding.md.
EXAMPLES: dict[str, OperationExamples] = {
    "submitMarketplaceOrderInDialectV2": OperationExamples(
        "An order in a partner's own fields (Globex's mapping, docs/onboarding.md)",
        parameters={"idempotency-key": "globex-GLX-5001"},
        request={
            "purchase": {
                "id": "GLX-5001",
                "currency": "EUR",
                "customer": {"fullName": "Hank Scorpio", "emailAddress": "hank@globex.example"},
            },
            "shipTo": {
                "name": "Hank Scorpio",
                "addressLine": "1 Globex Way",
                "town": "Cypress Creek",
                "postcode": "90210",
                "countryIso": "US",
            },
            "items": [
                {"sellerSku": "GLX-WIDGET-B", "count": 2, "unitPrice": "19.99"},
                {"sellerSku": "GLX-USB-C", "count": 1, "unitPrice": "9.50"},
            ],
        },
        responses={
            202: {
                "marketplace_order_id": "GLX-5001",
                "order_reference": "ord_01JEQ7X3K9",
                "order_status": "PENDING",
                "status_url": "/marketplace/v2/orders/GLX-5001",
            }
        },
    )
}


@router.post(
    "/dialect-orders",
    status_code=202,
    operation_id="submitMarketplaceOrderInDialectV2",
    summary="Submit a marketplace order in the partner's own fields",
    description="For a partner set up with a field mapping: the order is mapped to a version 2 order with it, "
    "then taken in exactly as `POST /v2/orders` takes one (same status URL, same Idempotency-Key rules). A "
    "field that is missing or invalid is a 422 pointing at the partner's own field (`#/items/1/qty`). A partner "
    "without a field mapping gets a 422 and submits on `POST /v2/orders`.",
    responses={
        202: {"description": "The order is recorded; follow it at `status_url`.", "headers": LOCATION},
        403: FORBIDDEN,
        409: SUBMIT_CONFLICT,
        422: {
            "description": "A field is invalid once mapped, a business rule is broken, or the partner has no "
            "field mapping; `errors` names each of the partner's fields."
        },
        **UPSTREAM,
    },
)
async def submit_order_in_dialect(
    body: PartnerOrder,
    partner_id: WritingPartner,
    key: RequiredKey,
    store: Store,
    orders: Orders,
    mappings: Mappings,
    conn: ReadConnDep,
    response: Response,
) -> MarketplaceOrderAcceptedV2:
    receipt = await dialect_orders.submit_order_in_dialect(
        store=store, orders=orders, mappings=mappings, conn=conn, partner_id=partner_id, order=body, key=key
    )
    accepted = mapping_v2.to_marketplace_accepted(receipt)
    response.headers["Location"] = accepted.status_url
    return accepted

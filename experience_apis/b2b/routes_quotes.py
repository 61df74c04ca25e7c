"""Version 1 of the B2B API: quotes. HTTP only."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from experience_apis.b2b import quotes
from experience_apis.b2b.routes import FORBIDDEN, UPSTREAM, CatalogReader, Orders
from experience_apis.b2b.schemas_quotes import Quote, QuoteCreate
from service_kit.db import SessionDep
from service_kit.idempotency import IdempotencyDep
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["b2b"])

QuoteId = Annotated[str, Path(min_length=1, max_length=40, examples=["qt_0123456789abcdef01234567"])]


@router.post(
    "/quotes",
    status_code=201,
    response_model=Quote,
    operation_id="createQuote",
    summary="Ask for a quote",
    description="Your prices and totals for these lines, held until `valid_until`: name the quote as `quote_id` "
    "on a purchase order. The `Idempotency-Key` makes a retry replay the first answer.",
    responses={
        403: FORBIDDEN,
        409: problem_doc("A request with this Idempotency-Key is still being answered."),
        422: problem_doc(
            "A line cannot be quoted (not in your catalog, discontinued, another unit); `errors` names it."
        ),
        **UPSTREAM,
    },
)
async def create_quote(
    body: QuoteCreate,
    account: CatalogReader,
    orders: Orders,
    idem: IdempotencyDep,
    session: SessionDep,
    request: Request,
) -> Any:
    stored = await idem.start()
    if stored is not None:
        return stored.body
    hours = float(request.app.state.settings.quote_valid_hours)
    quote = await quotes.create_quote(
        session=session, orders=orders, account=account, body=body, valid_for=timedelta(hours=hours)
    )
    await idem.finish(session, status_code=201, body=quote.model_dump(mode="json"))
    return quote


@router.get(
    "/quotes/{quote_id}",
    operation_id="getQuote",
    summary="A quote of yours",
    responses={403: FORBIDDEN, 404: problem_doc("No quote of yours with this id.")},
)
async def get_quote(quote_id: QuoteId, account: CatalogReader, session: SessionDep) -> Quote:
    return await quotes.get_quote(session=session, account=account, quote_id=quote_id)

"""The ERP's batch booking and the orders client that calls it speak one model, the canonical one in
``contracts``: what the ERP answers is what the client reads, entry by entry."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from contracts import (
    BatchOutcome,
    EntryProblem,
    Money,
    Quantity,
    SalesOrder,
    SalesOrderBatchCreate,
    SalesOrderBatchEntry,
    SalesOrderBatchResult,
    SalesOrderCreate,
    SalesOrderLineCreate,
)
from process_apis.orders.clients import ErpClient, Refused
from service_kit.errors import UpstreamUnavailable
from service_kit.http import ServiceToken, Upstream, UpstreamPolicy, configure_upstream
from system_apis.erp import routes as erp_routes


def _line() -> SalesOrderLineCreate:
    return SalesOrderLineCreate(sku="CABLE-USB-C", quantity=Quantity.of(1), unit_price=Money.of("9.50", "EUR"))


def _sales_order(reference: str) -> SalesOrderCreate:
    return SalesOrderCreate(external_reference=reference, customer_id="C-1001", currency="EUR", lines=[_line()])


def _erp_answering(result: SalesOrderBatchResult) -> tuple[httpx.AsyncClient, Upstream]:
    def erp(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/v1/sales-order-batches")
        return httpx.Response(200, json=result.model_dump(mode="json"))

    http = httpx.AsyncClient(transport=httpx.MockTransport(erp))
    configure_upstream(http, "erp", UpstreamPolicy())
    token = ServiceToken(http, token_url="http://gw.test/token", client_id="", client_secret="")
    return http, Upstream(http, token, base_url="http://erp.test", name="erp")


def test_the_erp_publishes_the_batch_models_of_contracts_not_copies() -> None:
    assert (erp_routes.SalesOrderBatchCreate, erp_routes.SalesOrderBatchResult) == (
        SalesOrderBatchCreate,
        SalesOrderBatchResult,
    )


async def test_each_outcome_the_erp_answers_is_read_as_the_client_booking_it_means() -> None:
    booked = SalesOrder(
        number="SO-1",
        external_reference="ord_a",
        customer_id="C-1001",
        currency="EUR",
        status="open",
        lines=[_line()],
        total=Money.of("9.50", "EUR"),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    errors = [{"field": "customer_id", "message": "blocked"}]
    result = SalesOrderBatchResult(
        results=[
            SalesOrderBatchEntry(external_reference="ord_a", outcome=BatchOutcome.created, sales_order=booked),
            SalesOrderBatchEntry(
                external_reference="ord_b",
                outcome=BatchOutcome.refused,
                problem=EntryProblem(title="Unprocessable", status=422, detail="Customer is blocked.", errors=errors),
            ),
            SalesOrderBatchEntry(
                external_reference="ord_c",
                outcome=BatchOutcome.conflict,
                problem=EntryProblem(title="Conflict", status=409, detail="Being booked right now."),
            ),
        ]
    )
    http, api = _erp_answering(result)
    async with http:
        answers = await ErpClient(api).book_sales_orders([_sales_order(r) for r in ("ord_a", "ord_b", "ord_c")])
    assert answers["ord_a"] == booked
    refused = answers["ord_b"]
    assert isinstance(refused, Refused) and refused.detail == "Customer is blocked." and refused.errors == errors
    conflict = answers["ord_c"]
    assert isinstance(conflict, UpstreamUnavailable) and "409 (conflict)" in str(conflict)

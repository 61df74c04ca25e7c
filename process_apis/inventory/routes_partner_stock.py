"""``POST /v1/partner-stock-snapshots`` (issue 11): a 3PL partner's counted stock, compared with the
WMS figures held for its warehouse. HTTP only: parse, call one service function, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from contracts.scopes import INVENTORY_WRITE
from process_apis.inventory.partner_stock import (
    PartnerStockReport,
    PartnerStockSnapshotCreate,
    compare_partner_stock,
)
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["inventory"])


@router.post(
    "/partner-stock-snapshots",
    operation_id="comparePartnerStock",
    summary="Compare a partner's counted stock with the WMS",
    responses={
        422: problem_doc("The snapshot is not valid (a SKU counted twice, a negative count); `errors` names it.")
    },
)
async def compare_partner_stock_snapshot(
    body: PartnerStockSnapshotCreate,
    request: Request,
    session: SessionDep,
    _: Annotated[Principal, require(INVENTORY_WRITE)],
) -> PartnerStockReport:
    """The drift of every counted SKU against the warehouse's on-hand stock by the WMS's movements,
    recorded in the drift history like a reconciliation's."""
    return await compare_partner_stock(session=session, snapshot=body, metrics=request.app.state.inventory_metrics)

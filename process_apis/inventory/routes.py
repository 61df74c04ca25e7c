"""HTTP only: parse, call one service function, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from contracts.common import Sku
from contracts.scopes import INVENTORY_READ, INVENTORY_WRITE
from process_apis.inventory import reconcile, service
from process_apis.inventory.schemas import (
    ChannelAvailabilityList,
    ChannelAvailabilityRead,
    ChannelList,
    RebuildResult,
    ReconciliationCreate,
    ReconciliationReport,
)
from process_apis.inventory.settings import InventorySettings
from service_kit.app import upstream
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc


def _settings(request: Request) -> InventorySettings:
    settings: InventorySettings = request.app.state.settings
    return settings


Settings = Annotated[InventorySettings, Depends(_settings)]
InventoryRead = Annotated[Principal, require(INVENTORY_READ)]
InventoryWrite = Annotated[Principal, require(INVENTORY_WRITE)]
Channel = Annotated[
    str, Query(min_length=1, max_length=32, examples=["marketplace"], description="A configured channel")
]
SkuPath = Annotated[str, Path(min_length=1, max_length=64, examples=["WIDGET-BLUE"])]
SkuQuery = Annotated[list[Sku], Query(min_length=1, max_length=100, description="One or more SKUs (at most 100)")]

router = APIRouter(prefix="/v1", tags=["inventory"])


@router.get(
    "/availability/{sku}",
    operation_id="getAvailability",
    responses={404: problem_doc("No stock of this SKU is known."), 422: problem_doc("Unknown channel.")},
)
async def get_availability(
    sku: SkuPath, channel: Channel, session: SessionDep, settings: Settings, _: InventoryRead
) -> ChannelAvailabilityRead:
    """What the channel may sell of the SKU now (by its allocation rule), and what it was last told."""
    return await service.sku_availability(session=session, rules=settings.channels, sku=sku, channel=channel)


@router.get("/availability", operation_id="listAvailability", responses={422: problem_doc("Unknown channel.")})
async def list_availability(
    sku: SkuQuery, channel: Channel, session: SessionDep, settings: Settings, _: InventoryRead
) -> ChannelAvailabilityList:
    """The same for several SKUs; SKUs with no known stock are left out."""
    items = await service.channel_availability(session=session, rules=settings.channels, skus=sku, channel=channel)
    return service.availability_list(items)


@router.get("/channels", operation_id="listChannels")
async def list_channels(settings: Settings, _: InventoryRead) -> ChannelList:
    """The channels availability is kept for, with their allocation rules (ask each one's
    availability by name)."""
    return service.channel_list(rules=settings.channels)


@router.post(
    "/projection/rebuild",
    operation_id="rebuildProjection",
    responses={503: problem_doc("The WMS or ERP could not be read; nothing was changed.")},
)
async def rebuild_projection(
    request: Request, session: SessionDep, settings: Settings, _: InventoryWrite
) -> RebuildResult:
    """Seed the projection again from every WMS stock position and ERP item (newer versions
    only), and publish what changed for any channel."""
    return await service.rebuild_projection(
        session=session,
        wms=upstream(request.app, "wms"),
        erp=upstream(request.app, "erp"),
        rules=settings.channels,
        window=settings.coalesce_window,
    )


@router.post(
    "/reconciliations",
    operation_id="reconcileAvailability",
    responses={503: problem_doc("The WMS could not be read; nothing was compared.")},
)
async def reconcile_availability(
    body: ReconciliationCreate, request: Request, session: SessionDep, settings: Settings, _: InventoryWrite
) -> ReconciliationReport:
    """Compare what every channel was last told with the true availability from the WMS's stock
    now; with `repair`, correct the projection and republish what drifted."""
    return await reconcile.reconcile(
        session=session,
        wms=upstream(request.app, "wms"),
        rules=settings.channels,
        window=settings.coalesce_window,
        repair=body.repair,
        metrics=request.app.state.inventory_metrics,
    )

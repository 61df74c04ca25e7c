"""Typed calls to the tier below (ERP, WMS, CRM) and to the orders process (a read), each acting
for the row's partner and carrying its correlation id (``base`` says how answers map)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from process_apis.fulfillment.clients.base import Refused
from process_apis.fulfillment.clients.crm import CrmClient
from process_apis.fulfillment.clients.erp import ErpClient
from process_apis.fulfillment.clients.orders import OrdersClient
from process_apis.fulfillment.clients.wms import WmsClient
from service_kit.app import upstream


@dataclass(frozen=True)
class FulfillmentClients:
    erp: ErpClient
    wms: WmsClient
    crm: CrmClient
    orders: OrdersClient


def clients_for(app: FastAPI, *, correlation_id: str | None = None) -> FulfillmentClients:
    scope = {"correlation_id": correlation_id}
    return FulfillmentClients(
        erp=ErpClient(upstream(app, "erp"), **scope),
        wms=WmsClient(upstream(app, "wms"), **scope),
        crm=CrmClient(upstream(app, "crm"), **scope),
        orders=OrdersClient(upstream(app, "orders"), **scope),
    )


__all__ = ["CrmClient", "ErpClient", "FulfillmentClients", "OrdersClient", "Refused", "WmsClient", "clients_for"]

"""``GET /admin/partner-health``: each partner's traffic through the gateway over the last
minutes, per time bucket, read from the audit log (audit.py): calls, server errors (5xx), other
refusals (4xx but 429), throttled calls (429), mean and slowest latency. For operators only (an
internal client's ``ops`` token, as ``/metrics``); anyone else gets a 404 problem.

The ops console draws it. The audit log is written off the request path in batches, so the last
``audit_linger_seconds`` may not be in yet; records the audit dropped under overload
(``interchange_gateway_audit_dropped_total``) are missing from these counts.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import Integer, case, cast, func, select

from gateway.metrics_access import require_operator
from gateway.models import AuditRecord
from service_kit.db import Database
from service_kit.errors import NotFound

router = APIRouter(prefix="/admin", include_in_schema=False)


class TrafficBucket(BaseModel):
    start: float  # seconds since 1970, UTC
    calls: int
    server_errors: int
    refused: int
    throttled: int
    mean_latency_ms: float
    max_latency_ms: float


class PartnerTraffic(BaseModel):
    partner_id: str
    buckets: list[TrafficBucket]


class PartnerHealth(BaseModel):
    since: float
    bucket_seconds: int
    partners: list[PartnerTraffic]


async def partner_traffic(db: Database, *, since: float, bucket_seconds: int) -> dict[str, list[TrafficBucket]]:
    """One aggregate over the audit records since ``since`` (the ``at`` index bounds the read)."""
    bucket = cast(AuditRecord.at / bucket_seconds, Integer) * bucket_seconds
    status = AuditRecord.status
    query = (
        select(
            AuditRecord.partner_id,
            bucket.label("start"),
            func.count().label("calls"),
            func.sum(case((status >= 500, 1), else_=0)).label("server_errors"),
            func.sum(case(((status >= 400) & (status < 500) & (status != 429), 1), else_=0)).label("refused"),
            func.sum(case((status == 429, 1), else_=0)).label("throttled"),
            func.avg(AuditRecord.latency_ms).label("mean_latency_ms"),
            func.max(AuditRecord.latency_ms).label("max_latency_ms"),
        )
        .where(AuditRecord.at >= since, AuditRecord.partner_id.is_not(None))
        .group_by(AuditRecord.partner_id, bucket)
        .order_by(AuditRecord.partner_id, bucket)
    )
    traffic: dict[str, list[TrafficBucket]] = {}
    async with db.transaction() as session:
        for row in await session.execute(query):
            traffic.setdefault(row.partner_id, []).append(
                TrafficBucket(
                    start=float(row.start),
                    calls=row.calls,
                    server_errors=row.server_errors or 0,
                    refused=row.refused or 0,
                    throttled=row.throttled or 0,
                    mean_latency_ms=round(float(row.mean_latency_ms or 0.0), 2),
                    max_latency_ms=round(float(row.max_latency_ms or 0.0), 2),
                )
            )
    return traffic


@router.get("/partner-health")
async def partner_health(
    request: Request,
    minutes: Annotated[int, Query(ge=1, le=24 * 60, description="How far back.")] = 60,
    bucket_seconds: Annotated[int, Query(ge=10, le=3600, description="The width of one bucket.")] = 60,
) -> PartnerHealth:
    try:
        await require_operator(request)
    except NotFound:
        raise NotFound("There is nothing at /admin/partner-health.") from None
    since = time.time() - minutes * 60
    traffic = await partner_traffic(request.app.state.db, since=since, bucket_seconds=bucket_seconds)
    return PartnerHealth(
        since=since,
        bucket_seconds=bucket_seconds,
        partners=[PartnerTraffic(partner_id=p, buckets=b) for p, b in sorted(traffic.items())],
    )


__all__ = ["PartnerHealth", "PartnerTraffic", "TrafficBucket", "partner_traffic", "router"]

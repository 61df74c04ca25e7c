"""``GET /admin/audit``: the gateway's record of proxied calls, newest first, filtered by client,
partner, status (``404`` or a class, ``4xx``) and time, for operators only (an internal client's
``ops`` token, as ``/metrics``; anyone else gets a 404 problem). ``interchange audit`` reads it.

The audit log is written off the request path in batches, so the last ``audit_linger_seconds``
may not be in yet.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from gateway.audit import AuditEntry, query_audit, status_range
from gateway.metrics_access import require_operator
from service_kit.errors import NotFound, UnprocessableContent

router = APIRouter(prefix="/admin", include_in_schema=False)


class AuditCalls(BaseModel):
    items: list[AuditEntry]  # ``at``: seconds since 1970, UTC


@router.get("/audit")
async def audit_calls(
    request: Request,
    client: Annotated[str | None, Query(max_length=128, description="Only this client id's calls.")] = None,
    partner: Annotated[str | None, Query(max_length=128, description="Only this partner's calls.")] = None,
    status: Annotated[str | None, Query(max_length=3, description="A status (404) or a class (4xx).")] = None,
    since: Annotated[float | None, Query(ge=0, description="Seconds since 1970 (UTC).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> AuditCalls:
    try:
        await require_operator(request)
    except NotFound:
        raise NotFound("There is nothing at /admin/audit.") from None
    if status is not None:
        try:
            status_range(status)
        except ValueError as exc:
            raise UnprocessableContent(str(exc).capitalize() + ".") from None
    entries = await query_audit(
        request.app.state.db, client_id=client, partner_id=partner, status=status, since=since, limit=limit
    )
    return AuditCalls(items=entries)


__all__ = ["AuditCalls", "router"]

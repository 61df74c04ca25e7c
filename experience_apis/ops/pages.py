"""The console's pages (server-rendered, Jinja2 + htmx; not part of the published API). HTTP only:
each page reads the signed-in operator from the session, calls one service function with the
operator's token and renders a template.

A page without a signed-in operator (or whose token has expired) sends the browser to the sign-in
form. Failures of the admin APIs are shown on the page with their status and what to do (to a
caller that does not ask for HTML, the kit's RFC 9457 problem instead); an expired or revoked
token signs the operator out.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from experience_apis.ops import health, partners, service, stock
from experience_apis.ops.clients import EventsAdmin, InventoryAdmin, SessionExpired, StorefrontAdmin
from experience_apis.ops.dependencies import orders_admin, settings_of
from experience_apis.ops.service import Operator
from service_kit.errors import InterchangeError

router = APIRouter(prefix="/console", include_in_schema=False)
SESSION_KEY = "operator"
LOGIN = "/console/login"


def signed_in(request: Request) -> Operator | None:
    operator = Operator.from_session(request.session.get(SESSION_KEY))
    return None if operator is None or operator.expired() else operator


def _to_login(request: Request, *, expired: bool = False) -> Response:
    request.session.pop(SESSION_KEY, None)
    target = LOGIN + ("?expired=1" if expired else "")
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, template, {"operator": signed_in(request), **context}, status_code=status
    )


def html_only(request: Request, exc: InterchangeError) -> None:
    """Re-raises ``exc`` (the kit's problem+json) unless the caller reads HTML: a browser or htmx."""
    if not (request.headers.get("HX-Request") or "text/html" in request.headers.get("accept", "")):
        raise exc


def failed(request: Request, exc: InterchangeError, template: str = "error.html", **context: Any) -> Response:
    """A failure of an admin API, on the page: its status and detail (never an internal trace)."""
    if isinstance(exc, SessionExpired):
        return _to_login(request, expired=True)
    html_only(request, exc)
    return render(request, template, status=exc.status, error=exc.detail, **context)


@router.get("/login")
async def login_form(request: Request, expired: bool = False) -> Response:
    message = "Your sign-in has expired: sign in again." if expired else None
    return render(request, "login.html", message=message)


@router.post("/login")
async def login(
    request: Request,
    client_id: Annotated[str, Form(min_length=1, max_length=128)],
    client_secret: Annotated[str, Form(min_length=1, max_length=512)],
) -> Response:
    settings = settings_of(request)
    try:
        operator = await service.sign_in(
            http=request.app.state.http,
            verifier=request.app.state.verifier,
            token_url=settings.token_url,
            client_id=client_id.strip(),
            client_secret=client_secret,
        )
    except InterchangeError as exc:
        html_only(request, exc)
        return render(request, "login.html", status=exc.status, message=exc.detail, client_id=client_id)
    request.session.clear()
    request.session[SESSION_KEY] = operator.to_session()
    return RedirectResponse("/console", status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse(LOGIN, status_code=303)


@router.get("")
async def search_page(request: Request, reference: Annotated[str | None, Query(max_length=128)] = None) -> Response:
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    reference = (reference or "").strip()
    if not reference:
        return render(request, "search.html", reference="", results=None)
    try:
        results = await service.search(
            orders=orders_admin(request, operator.token), reference=reference, limit=settings_of(request).page_size
        )
    except InterchangeError as exc:
        return failed(request, exc, "search.html", reference=reference, results=None)
    return render(request, "search.html", reference=reference, results=results)


@router.get("/orders/{order_id}")
async def order_page(request: Request, order_id: str) -> Response:
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    try:
        order, entries = await service.order_story(orders=orders_admin(request, operator.token), order_id=order_id)
    except InterchangeError as exc:
        return failed(request, exc)
    return render(request, "order.html", order=order, entries=entries)


async def _queue(request: Request, operator: Operator, **context: Any) -> Response:
    template = "_queue.html" if request.headers.get("HX-Request") else "exceptions.html"
    try:
        items = await service.exception_queue(
            orders=orders_admin(request, operator.token), limit=settings_of(request).page_size
        )
    except InterchangeError as exc:
        return failed(request, exc)
    if template == "exceptions.html":
        try:
            context |= await _dead_letters(request, operator)
            context |= await _bus_letters(request, operator)
        except SessionExpired:
            return _to_login(request, expired=True)
    return render(request, template, items=items, **context)


@router.post("/exceptions/{order_id}/credit-review")
async def credit_review(
    request: Request,
    order_id: str,
    decision: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Decides an order held for credit review and answers the queue again."""
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    try:
        await service.review_credit(
            orders=orders_admin(request, operator.token), order_id=order_id, decision=decision, reason=reason
        )
    except InterchangeError as exc:
        if isinstance(exc, SessionExpired):
            return _to_login(request, expired=True)
        html_only(request, exc)
        response = await _queue(request, operator, error=f"Order {order_id} was not decided: {exc.detail}")
        response.status_code = exc.status
        return response
    link = f"/console/orders/{quote(order_id, safe='')}"
    notice = f"Order {order_id}: credit {decision}d by {operator.name}: {reason.strip()}"
    return await _queue(request, operator, notice=notice, notice_link=link)


def _storefront(request: Request, operator: Operator) -> StorefrontAdmin:
    return StorefrontAdmin(request.app.state.http, base_url=settings_of(request).storefront_url, token=operator.token)


async def _dead_letters(request: Request, operator: Operator) -> dict[str, Any]:
    """The dead letters' part of the page: a refusal (no storefront:admin) is said there, not fatal."""
    try:
        letters = await service.dead_letters(
            storefront=_storefront(request, operator), limit=settings_of(request).page_size
        )
    except SessionExpired:
        raise
    except InterchangeError as exc:
        return {"letters": [], "letters_error": exc.detail}
    return {"letters": letters}


def _events(request: Request, operator: Operator) -> EventsAdmin:
    return EventsAdmin(request.app.state.http, base_url=settings_of(request).orders_url, token=operator.token)


async def _bus_letters(request: Request, operator: Operator) -> dict[str, Any]:
    """The event bus's dead letters (through the orders service's admin routes: the bus is shared);
    a refusal is said in their section, not fatal to the page."""
    try:
        letters = await service.bus_dead_letters(
            events=_events(request, operator), limit=settings_of(request).page_size
        )
    except SessionExpired:
        raise
    except InterchangeError as exc:
        return {"bus_letters": [], "bus_error": exc.detail}
    return {"bus_letters": letters}


@router.post("/bus-dead-letters/replay")
async def replay_bus_letter(
    request: Request,
    dead_letter_id: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Hands a parked bus message back to its group and answers the bus's dead letters again (htmx)."""
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    status, context = 200, {}
    try:
        done = await service.replay_bus_letter(
            events=_events(request, operator), dead_letter_id=dead_letter_id, reason=reason
        )
        notice = f"{done.event_type} {done.event_id} handed back to {done.group} by {operator.name}: {reason.strip()}"
        context = {"bus_notice": notice}
    except SessionExpired:
        return _to_login(request, expired=True)
    except InterchangeError as exc:
        html_only(request, exc)
        status, context = exc.status, {"bus_notice_error": f"{dead_letter_id} was not replayed: {exc.detail}"}
    try:
        context |= await _bus_letters(request, operator)
    except SessionExpired:
        return _to_login(request, expired=True)
    if request.headers.get("HX-Request"):
        return render(request, "_bus_letters.html", status=status, **context)
    return await _queue_with(request, operator, status=status, **context)


@router.get("/exceptions")
async def exceptions_page(request: Request) -> Response:
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    return await _queue(request, operator)


@router.post("/exceptions/{order_id}/replay")
async def replay(request: Request, order_id: str, reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    """Replays a parked order and answers the queue again (htmx swaps it in: the order has left it)."""
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    try:
        done = await service.replay(orders=orders_admin(request, operator.token), order_id=order_id, reason=reason)
    except InterchangeError as exc:
        if isinstance(exc, SessionExpired):
            return _to_login(request, expired=True)
        html_only(request, exc)
        response = await _queue(request, operator, error=f"Order {order_id} was not replayed: {exc.detail}")
        response.status_code = exc.status
        return response
    link = f"/console/orders/{quote(order_id, safe='')}"
    notice = f"Order {order_id} replayed from {done['step']} by {done['actor']}: {done['note']}"
    return await _queue(request, operator, notice=notice, notice_link=link)


@router.get("/health")
async def health_page(request: Request) -> Response:
    """Circuit breakers per upstream, the ERP's quota, the exception queue: from each service's /metrics."""
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    settings = settings_of(request)
    services = {name: str(getattr(settings, f"{name}_url")) for name in settings.health_services}
    report = await health.suite_health(http=request.app.state.http, services=services, token=operator.token)
    return render(request, "health.html", health=report, services=sorted(services))


@router.get("/partners")
async def partners_page(
    request: Request,
    minutes: Annotated[int, Query(ge=5, le=24 * 60)] = 60,
) -> Response:
    """Each partner's calls, errors, 429s and latency through the gateway (its audit log), charted."""
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    try:
        report = await partners.partner_report(
            http=request.app.state.http,
            gateway_url=settings_of(request).gateway_url,
            token=operator.token,
            minutes=minutes,
            bucket_seconds=max(60, minutes),  # about 60 points whatever the window
        )
    except InterchangeError as exc:
        return failed(request, exc)
    return render(request, "partners.html", report=report)


#: The windows the stock page offers, in hours (the inventory keeps ``history_days`` of history).
STOCK_WINDOWS = (1, 6, 24, 168)


async def _stock(
    request: Request, operator: Operator, *, status: int = 200, hours: int = 6, **context: Any
) -> Response:
    settings = settings_of(request)
    sync = await stock.overview(http=request.app.state.http, inventory_url=settings.inventory_url, token=operator.token)
    inventory = InventoryAdmin(request.app.state.http, base_url=settings.inventory_url, token=operator.token)
    try:
        over_time: stock.StockHistory | None = await stock.history(inventory=inventory, hours=hours)
        history_error = None
    except InterchangeError as exc:
        if isinstance(exc, SessionExpired):
            return _to_login(request, expired=True)
        over_time, history_error = None, f"No history: {exc.detail}"
    return render(
        request,
        "stock.html",
        status=status,
        sync=sync,
        history=over_time,
        history_error=history_error,
        hours=hours,
        windows=STOCK_WINDOWS,
        **context,
    )


@router.get("/stock")
async def stock_page(request: Request, hours: Annotated[int, Query(ge=1, le=168)] = 6) -> Response:
    """Sync lag and drift per channel over the last ``hours`` (the inventory service's history) and
    since it started (its /metrics), and a reconcile button."""
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    return await _stock(request, operator, hours=hours)


@router.post("/stock/reconcile")
async def reconcile(
    request: Request, repair: Annotated[bool, Form()] = False, hours: Annotated[int, Form(ge=1, le=168)] = 6
) -> Response:
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    inventory = InventoryAdmin(
        request.app.state.http, base_url=settings_of(request).inventory_url, token=operator.token
    )
    try:
        report = await stock.reconcile(inventory=inventory, repair=repair)
    except InterchangeError as exc:
        if isinstance(exc, SessionExpired):
            return _to_login(request, expired=True)
        html_only(request, exc)
        return await _stock(request, operator, status=exc.status, hours=hours, error=f"Not reconciled: {exc.detail}")
    return await _stock(request, operator, hours=hours, report=report)


@router.post("/dead-letters/{sku}/replay")
async def replay_dead_letter(
    request: Request, sku: str, reason: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    """Replays a dead storefront push and answers the dead letters again (htmx swaps them in)."""
    operator = signed_in(request)
    if operator is None:
        return _to_login(request)
    status, context = 200, {}
    try:
        done = await service.replay_dead_letter(storefront=_storefront(request, operator), sku=sku, reason=reason)
        context = {"letters_notice": f"{sku} queued again ({done['available']}) by {done['replayed_by']}: {reason}"}
    except SessionExpired:
        return _to_login(request, expired=True)
    except InterchangeError as exc:
        html_only(request, exc)
        status, context = exc.status, {"letters_notice_error": f"{sku} was not replayed: {exc.detail}"}
    try:
        context |= await _dead_letters(request, operator)
    except SessionExpired:
        return _to_login(request, expired=True)
    if request.headers.get("HX-Request"):
        return render(request, "_dead_letters.html", status=status, **context)
    return await _queue_with(request, operator, status=status, **context)


async def _queue_with(request: Request, operator: Operator, *, status: int, **context: Any) -> Response:
    response = await _queue(request, operator, **context)
    response.status_code = status if response.status_code == 200 else response.status_code
    return response

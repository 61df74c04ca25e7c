"""The exception queue of the fulfilment sagas and its replay (scope ``fulfillment:admin``), as
the orders process's: a parked row goes back to its worker from the step that failed, and every
replay is audited (``fulfillment_replays``; its outcome is settled by the saga)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.fulfillment import repository
from process_apis.fulfillment.models import (
    FulfillmentReplay,
    ReleasedOrderRow,
    ReturnRow,
    ShipmentRow,
)
from process_apis.fulfillment.saga import now_utc
from process_apis.fulfillment.schemas import ExceptionList, ParkedItem, ReplayRead
from process_apis.fulfillment.service import SAGA_TOPIC
from service_kit.errors import Conflict, NotFound
from service_kit.idempotency import Idempotency
from service_kit.saga import exceptions
from service_kit.workers import notify_after_commit

KINDS: dict[str, Any] = {"shipment": ShipmentRow, "return": ReturnRow, "order": ReleasedOrderRow}
_KIND_OF = {model: kind for kind, model in KINDS.items()}


def _resumed_status(kind: str, row: Any) -> str | None:
    """Where a replayed row's status goes back to (it was ``held`` while parked)."""
    if kind == "shipment":
        return "invoiced" if row.invoice_number else "recorded"
    if kind == "return":
        return "credited" if row.credit_memo_number else ("received" if row.received_lines else "authorised")
    return None


def _item(row: Any) -> ParkedItem:
    kind = _KIND_OF[type(row)]
    return ParkedItem(
        id=f"{kind}:{row.id}",
        kind=kind,
        subject_id=row.id,
        order_id=getattr(row, "order_id", row.id),
        failed_step=row.failed_step,
        reason=getattr(row, "status_reason", None) or row.last_error,
        last_error=row.last_error,
        parked_at=repository.aware(row.parked_at) if row.parked_at else None,
    )


async def exception_queue(*, session: AsyncSession, limit: int, offset: int) -> ExceptionList:
    rows = await repository.list_parked(session, limit=limit + 1, offset=offset)
    more = len(rows) > limit
    return ExceptionList(items=[_item(r) for r in rows[:limit]], next_offset=offset + limit if more else None)


def replay_read(replay: FulfillmentReplay) -> ReplayRead:
    return ReplayRead(
        id=replay.id,
        kind=replay.kind,
        subject_id=replay.subject_id,
        step=replay.step,
        actor=replay.actor,
        note=replay.note,
        requested_at=repository.aware(replay.requested_at),
        outcome=replay.outcome,
        detail=replay.detail,
        finished_at=repository.aware(replay.finished_at) if replay.finished_at else None,
    )


async def replay(
    *, session: AsyncSession, exception_id: str, actor: str, note: str | None, idem: Idempotency | None = None
) -> ReplayRead:
    """Sends a parked row back to its worker from the step that failed; audited."""
    if idem is not None and (stored := await idem.start()) is not None:
        return ReplayRead.model_validate(stored.body)
    kind, _, subject_id = exception_id.partition(":")
    model = KINDS.get(kind)
    row = await session.get(model, subject_id) if model is not None and subject_id else None
    if row is None:
        raise NotFound(f"No exception {exception_id} (ids are <kind>:<id>, kind shipment, return or order).")
    if not exceptions.is_parked(row):
        raise Conflict(f"{exception_id} is not in the exception queue; only a parked one is replayed.")
    at = now_utc()
    step = exceptions.reopen(row)
    audit = FulfillmentReplay(
        kind=kind, subject_id=subject_id, step=step, actor=actor, note=note, requested_at=at, outcome="pending"
    )
    repository.add_replay(session, replay=audit)
    await session.flush()
    row.pending_replay_id = audit.id
    status = _resumed_status(kind, row)
    if status is not None:
        row.status, row.status_reason = status, f"replayed by {actor} from {step}"
    notify_after_commit(session=session, topic=SAGA_TOPIC)
    await session.flush()
    answer = replay_read(audit)
    if idem is not None:
        await idem.finish(session, status_code=202, body=answer.model_dump(mode="json"))
    return answer


__all__ = ["KINDS", "exception_queue", "replay", "replay_read"]

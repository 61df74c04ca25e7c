"""Why an order is where it is, in words a partner may read.

Every order carries a stable ``status_reason_code`` beside its ``status_reason``. A business
reason (a rule that rejected the order, a credit review, a refusal after the sale) is written for
the channel and reaches it as recorded. A technical hold's recorded reason is written for the
operations team: it names the step, the system and its error ("record_activity failed 2 times:
... crm service ..."); a partner reads a fixed message instead, and no failed step. No partner
reads ``last_error``. The recorded text stays in the ops views (the internal API's exception queue and
timeline) and for internal callers (no acting partner).

    code               status     partner message
    rejected           rejected   the business rule that refused it, as recorded
    cancelled          cancelled  the cancellation's reason, as recorded
    held_for_review    on_hold    the review's reason (credit), as recorded
    held_for_retry     on_hold    fixed: a system behind the seller failed; nothing is needed
    null               any other  a note recorded after the sale, if any, as recorded
"""

from __future__ import annotations

from enum import StrEnum

from contracts import Order, OrderStatus
from process_apis.orders.models import HoldKind


class StatusReasonCode(StrEnum):
    rejected = "rejected"
    cancelled = "cancelled"
    held_for_retry = "held_for_retry"
    held_for_review = "held_for_review"


HELD_FOR_RETRY = (
    "The order is held because a system behind the seller did not answer; it is retried or resumed by the "
    "seller's operations team. Nothing is needed from you."
)


def reason_code(*, status: OrderStatus, hold_kind: str | None) -> StatusReasonCode | None:
    if status is OrderStatus.rejected:
        return StatusReasonCode.rejected
    if status is OrderStatus.cancelled:
        return StatusReasonCode.cancelled
    if status is OrderStatus.on_hold:
        review = hold_kind == HoldKind.credit_review.value
        return StatusReasonCode.held_for_review if review else StatusReasonCode.held_for_retry
    return None


def as_partner_sees_it(order: Order) -> Order:
    """The order without what only the operations team reads: the last technical error, and the
    recorded reason and failed step of a technical hold."""
    if order.status_reason_code != StatusReasonCode.held_for_retry:
        return order.model_copy(update={"last_error": None})
    return order.model_copy(update={"status_reason": HELD_FOR_RETRY, "failed_step": None, "last_error": None})


__all__ = ["HELD_FOR_RETRY", "StatusReasonCode", "as_partner_sees_it", "reason_code"]

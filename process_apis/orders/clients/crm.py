"""The CRM as the orders process sees it: the customer's activity timeline, recorded in batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from contracts import EntryProblem
from contracts.common import CanonicalModel
from process_apis.orders.clients.base import BaseClient, Refused, read_body
from service_kit.errors import UpstreamUnavailable


class ActivityCreate(CanonicalModel):
    customer_id: str
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]
    subject: Annotated[str, Field(min_length=1, max_length=200)]
    reference: str | None = None


class Activity(ActivityCreate):
    id: str
    created_at: datetime


#: The CRM's published limit of activities per batch call.
MAX_ACTIVITY_BATCH = 100

#: An activity's identity at the CRM: recorded once per customer, kind and reference.
ActivityKey = tuple[str, str, str | None]


def activity_key(activity: ActivityCreate) -> ActivityKey:
    return (activity.customer_id, activity.kind, activity.reference)


class _ActivityBatchEntry(CanonicalModel):
    outcome: str  # recorded, existing, refused (a newer CRM may add outcomes: never a recording)
    activity: Activity | None = None
    problem: EntryProblem | None = None


class _ActivityBatchResult(CanonicalModel):
    results: list[_ActivityBatchEntry]


class CrmClient(BaseClient):
    system = "crm"

    async def record_activities(self, activities: Sequence[ActivityCreate]) -> dict[ActivityKey, Activity | Exception]:
        """Records many activities in one call, each on its own: by ``activity_key``, the activity
        recorded (now, or before: the CRM records one per customer, kind and reference, so the
        call is safe to send again), or a ``Refused`` with the CRM's reason (no account for the
        customer, as the single call said it; or the 422 of an entry the CRM cannot read), or an
        ``UpstreamUnavailable`` for an answer it cannot use."""

        def answered(entries: Sequence[ActivityCreate], resp: Any) -> dict[ActivityKey, Activity | Exception]:
            results = read_body(_ActivityBatchResult, resp, system=self.system).results
            if len(results) != len(entries):
                raise UpstreamUnavailable(f"The crm service answered {len(results)} results to {len(entries)} entries.")
            answers: dict[ActivityKey, Activity | Exception] = {}
            for sent, entry in zip(entries, results, strict=True):
                problem = entry.problem
                detail = problem.detail if problem and problem.detail else f"the CRM answered {entry.outcome}"
                if entry.outcome in ("recorded", "existing") and entry.activity is not None:
                    answers[activity_key(sent)] = entry.activity
                elif entry.outcome == "refused":
                    answers[activity_key(sent)] = Refused(
                        self.system, detail, errors=problem.errors if problem else None
                    )
                else:
                    answers[activity_key(sent)] = UpstreamUnavailable(
                        f"The crm service answered {entry.outcome} to this activity in a batch: {detail}"
                    )
            return answers

        return await self._batch(
            "/v1/activity-batches",
            activities,
            body=lambda entries: {"entries": [activity.model_dump(mode="json") for activity in entries]},
            answers=answered,
            key=activity_key,
            action="record the activity",
            kind="an activity batch",
        )


__all__ = ["MAX_ACTIVITY_BATCH", "Activity", "ActivityCreate", "ActivityKey", "CrmClient", "activity_key"]

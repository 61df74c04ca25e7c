"""Recording many activities in one call, as CRMs offer it (Salesforce's composite/sObject
collections, Dynamics' ``$batch``): each entry on its own, so one refused (no account for its
customer) fails only itself, and an entry with a reference is recorded once per customer, kind
and reference, so sending a batch again after a lost answer records nothing twice.

The accounts and the earlier activities are read once for the whole batch, and the new
activities recorded with one statement, in the request's transaction. The check for an earlier
activity and the insert run in that one transaction: on SQLite (one writer; a transaction that
read before another one committed cannot write after it) two calls cannot both record the same
reference; on a server database two calls racing on one reference could, as the single
operation always could. A reference is sent by one caller at a time (the orders saga's lease).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from contracts import EntryProblem
from system_apis.crm.backend import ActivityKey, CrmBackend
from system_apis.crm.schemas import Activity, ActivityBatchEntry, ActivityCreate, ActivityOutcome


def _key(entry: ActivityCreate) -> ActivityKey | None:
    return None if entry.reference is None else (entry.customer_id, entry.kind, entry.reference)


async def record_activities(*, backend: CrmBackend, entries: Sequence[ActivityCreate]) -> list[ActivityBatchEntry]:
    """One result per entry, in order; the caller's transaction commits the recorded ones together."""
    known = await backend.known_customers([entry.customer_id for entry in entries])
    keys = [key for key in map(_key, entries) if key is not None]
    earlier = await backend.find_activities(keys) if keys else {}
    now = datetime.now(UTC)
    results: list[ActivityBatchEntry] = []
    new: list[Activity] = []
    for entry in entries:
        key = _key(entry)
        if key is not None and key in earlier:
            results.append(ActivityBatchEntry(outcome=ActivityOutcome.existing, activity=earlier[key]))
            continue
        if entry.customer_id not in known:
            problem = EntryProblem(
                title="Business rule violation",
                status=422,
                detail=f"No CRM account for customer {entry.customer_id!r}.",
                errors=[{"pointer": "#/customer_id", "detail": f"no CRM account for {entry.customer_id}"}],
            )
            results.append(ActivityBatchEntry(outcome=ActivityOutcome.refused, problem=problem))
            continue
        activity = Activity(id=f"act_{uuid.uuid4().hex}", created_at=now, **entry.model_dump())
        new.append(activity)
        if key is not None:
            earlier[key] = activity  # a repeat later in this batch is the same activity
        results.append(ActivityBatchEntry(outcome=ActivityOutcome.recorded, activity=activity))
    await backend.add_activities(new)
    return results


__all__ = ["record_activities"]

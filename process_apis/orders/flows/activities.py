"""The CRM activity in batches: every order at its ``record_activity`` step hands its "order
accepted" entry to one ``ActivityBatcher`` (a ``flows.batches.Batcher``), which posts whatever has
gathered as one ``activity-batches`` call (at most 100 entries), then the next batch.

Crash safety lives at the CRM: it records one activity per customer, kind and reference (the
order id), and answers an entry sent again with the activity recorded first ("existing"). So a
worker killed between the post and recording the answer simply sends the entry again, and an
order needs no lookup of the customer's timeline before it sends its activity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from process_apis.orders.clients import Activity, ActivityCreate, CrmClient
from process_apis.orders.clients.crm import MAX_ACTIVITY_BATCH, ActivityKey, activity_key
from process_apis.orders.flows.batches import Batcher


class ActivityBatcher(Batcher[ActivityCreate, Activity]):
    def __init__(self, crm: Callable[[str], CrmClient], *, max_batch: int = MAX_ACTIVITY_BATCH) -> None:
        """``crm(correlation_id)``: a client acting for no partner (a batch carries many partners'
        orders), under the batch's own correlation id, which the log ties to the orders in it."""

        async def post(
            correlation_id: str, activities: list[ActivityCreate]
        ) -> Mapping[ActivityKey, Activity | Exception]:
            return await crm(correlation_id).record_activities(activities)

        super().__init__(post, key=activity_key, max_batch=max_batch, name="activity", system="CRM")

    async def record(self, activity: ActivityCreate) -> Activity:
        """The activity recorded (now or before); raises ``Refused`` (this entry refused), or the
        whole call's technical failure (``UpstreamUnavailable``, ``UpstreamThrottled``...)."""
        return await self.submit(activity)


__all__ = ["ActivityBatcher"]

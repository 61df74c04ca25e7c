"""The ERP's call quota, as cloud ERPs have one: at most N API calls per wall-clock second across
every caller; the call over it is refused with 429 and a Retry-After to the next second.

A fixed window counted by hand: ``limits``' in-memory storage starts a timer thread every 10 ms
while keys live (shared/notes/PERFORMANCE.md), which is more machinery than one counter needs.
"""

from __future__ import annotations

import math
import time

from fastapi import Request

from service_kit.errors import TooManyRequests
from service_kit.metrics import BusinessMetrics


class CallQuota:
    def __init__(self, per_second: int, *, metrics: BusinessMetrics | None = None) -> None:
        self.per_second = per_second
        self._window = 0
        self._used = 0
        self.refused = 0
        # interchange_erp_calls_total by outcome (children taken once) and the quota they count against
        self._served = metrics.erp_calls.labels("served") if metrics else None
        self._throttled = metrics.erp_calls.labels("throttled") if metrics else None
        if metrics is not None:
            metrics.erp_quota_limit.set(max(0, per_second))
            gauge = metrics.erp_quota_used

            async def quota_used() -> None:
                gauge.set(self.used_ratio())

            metrics.on_scrape(quota_used)

    def used_ratio(self, *, now: float | None = None) -> float:
        """Share of this second's quota used so far (0 without a quota)."""
        if self.per_second <= 0:
            return 0.0
        window = math.floor(time.time() if now is None else now)
        return self._used / self.per_second if window == self._window else 0.0

    def take(self, *, now: float | None = None) -> float | None:
        """Counts one call; returns None when it is within the quota, else seconds to wait."""
        if self.per_second <= 0:
            if self._served is not None:
                self._served.inc()
            return None
        moment = time.time() if now is None else now
        window = math.floor(moment)
        if window != self._window:
            self._window, self._used = window, 0
        if self._used < self.per_second:
            self._used += 1
            if self._served is not None:
                self._served.inc()
            return None
        self.refused += 1
        if self._throttled is not None:
            self._throttled.inc()
        return window + 1 - moment


async def enforce_call_quota(request: Request) -> None:
    quota: CallQuota | None = getattr(request.app.state, "call_quota", None)
    wait = quota.take() if quota is not None else None
    if wait is not None:
        raise TooManyRequests(
            f"The ERP answers at most {quota.per_second if quota else 0} calls per second; "
            "send this call again after the Retry-After interval.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


__all__ = ["CallQuota", "enforce_call_quota"]

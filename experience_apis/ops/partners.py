"""Partner health from the gateway's audit log: per partner, calls, errors, 429s and latency over
the last hour, as series for the charts (uPlot draws them in the page) and totals for the table."""

from __future__ import annotations

import httpx
from pydantic import BaseModel

from experience_apis.ops.clients import partner_health


class PartnerSeries(BaseModel):
    """Columns for uPlot: x (seconds since 1970) and one list per measure, aligned with it."""

    partner_id: str
    starts: list[float]
    calls: list[int]
    server_errors: list[int]
    refused: list[int]
    throttled: list[int]
    mean_latency_ms: list[float]
    max_latency_ms: list[float]

    @property
    def total_calls(self) -> int:
        return sum(self.calls)

    @property
    def total_server_errors(self) -> int:
        return sum(self.server_errors)

    @property
    def total_refused(self) -> int:
        return sum(self.refused)

    @property
    def total_throttled(self) -> int:
        return sum(self.throttled)

    @property
    def mean_latency(self) -> float:
        """Mean latency over the window, weighted by calls."""
        calls = self.total_calls
        return sum(c * m for c, m in zip(self.calls, self.mean_latency_ms, strict=True)) / calls if calls else 0.0


class PartnerReport(BaseModel):
    minutes: int
    bucket_seconds: int
    since: float  # the window the charts span (seconds since 1970)
    until: float
    partners: list[PartnerSeries]

    def chart_data(self) -> dict[str, object]:
        """What partners.js draws: the window and each partner's series."""
        return self.model_dump(mode="json", include={"since", "until", "partners"})


async def partner_report(
    *, http: httpx.AsyncClient, gateway_url: str, token: str, minutes: int, bucket_seconds: int
) -> PartnerReport:
    raw = await partner_health(
        http, gateway_url=gateway_url, token=token, minutes=minutes, bucket_seconds=bucket_seconds
    )
    partners = []
    for partner in raw["partners"]:
        buckets = partner["buckets"]
        partners.append(
            PartnerSeries(
                partner_id=partner["partner_id"],
                **{
                    name: [b[key] for b in buckets]
                    for name, key in (
                        ("starts", "start"),
                        ("calls", "calls"),
                        ("server_errors", "server_errors"),
                        ("refused", "refused"),
                        ("throttled", "throttled"),
                        ("mean_latency_ms", "mean_latency_ms"),
                        ("max_latency_ms", "max_latency_ms"),
                    )
                },
            )
        )
    since = float(raw["since"])
    return PartnerReport(
        minutes=minutes, bucket_seconds=bucket_seconds, since=since, until=since + minutes * 60, partners=partners
    )


__all__ = ["PartnerReport", "PartnerSeries", "partner_report"]

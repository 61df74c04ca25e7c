"""The issue's targets beside what a benchmark measured: one row per figure, met or not met.

A benchmark's ``run()`` returns ``"targets": [target(...), ...]`` next to its ``rows``; ``python
-m bench`` prints them as one table per benchmark and one summary for the whole run, so every
figure is read against its target in the same place (the figures themselves stay in ``rows``).
"""

from __future__ import annotations

from typing import Any


def target(
    figure: str,
    measured: float | None,
    *,
    unit: str = "",
    at_most: float | None = None,
    at_least: float | None = None,
    goal: str = "",
    before: str = "",
) -> dict[str, Any]:
    """``figure`` measured as ``measured`` (None: not measured in this run), against a bound:
    ``at_most`` (costs, lags, latencies) or ``at_least`` (rates). ``before`` is the figure the
    issue started from, ``goal`` the one beyond the target."""
    if (at_most is None) == (at_least is None):
        raise ValueError("give exactly one of at_most and at_least")
    bound = f"<= {_num(at_most)}" if at_most is not None else f">= {_num(at_least)}"
    if measured is None:
        met: bool | None = None
    elif at_most is not None:
        met = measured <= at_most
    else:
        met = measured >= (at_least or 0.0)
    return {
        "figure": figure,
        "measured": None if measured is None else round(measured, 3),
        "unit": unit,
        "target": f"{bound} {unit}".strip(),
        "met": met,
        "before": before,
        "goal": goal,
    }


def verdict(row: dict[str, Any]) -> str:
    if row.get("met") is None:
        return "not measured"
    return "met" if row["met"] else "NOT MET"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


__all__ = ["target", "verdict"]

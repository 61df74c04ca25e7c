"""``python -m bench [NAME ...]``: run every benchmark module (or the ones named), print a table
for each and write its result to ``bench/results/<name>-<timestamp>.json``."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import bench
from bench._targets import verdict

RESULTS = Path(__file__).resolve().parent / "results"


def discover() -> list[str]:
    """The benchmark modules: ``bench/<name>.py`` not starting with ``_`` and defining ``run``."""
    names = []
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "run", None)):
            names.append(info.name)
    return sorted(names)


def show(console: Console, name: str, result: dict[str, Any]) -> None:
    rows = result.get("rows") or []
    table = Table(title=str(result.get("title", name)), title_justify="left")
    columns = list(rows[0]) if rows else []
    for column in columns:
        table.add_column(column, justify="left" if column == columns[0] else "right")
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    console.print(table)
    for note in result.get("notes") or []:
        console.print(f"  {note}")
    show_targets(console, f"{name}: against the targets", result.get("targets") or [])


def show_targets(console: Console, title: str, targets: list[dict[str, Any]]) -> None:
    if not targets:
        return
    table = Table(title=title, title_justify="left")
    for column in ("figure", "measured", "target", "verdict", "before", "goal"):
        table.add_column(column, justify="left" if column in ("figure", "verdict") else "right")
    for row in targets:
        measured = "-" if row.get("measured") is None else f"{_cell(row['measured'])} {row.get('unit', '')}".strip()
        style = {"met": "green", "NOT MET": "red"}.get(verdict(row), "yellow")
        table.add_row(
            row["figure"],
            measured,
            row["target"],
            f"[{style}]{verdict(row)}",
            row.get("before", ""),
            row.get("goal", ""),
        )
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def main(argv: list[str]) -> int:
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a log or a pipe: do not squeeze the tables to 80 columns
    available = discover()
    wanted = argv or [n for n in available if not getattr(importlib.import_module(f"bench.{n}"), "ON_REQUEST", False)]
    unknown = [n for n in wanted if n not in available]
    if unknown:
        console.print(f"[red]no benchmark named {', '.join(unknown)}; there are: {', '.join(available)}")
        return 2
    RESULTS.mkdir(exist_ok=True)
    failed = 0
    summary: list[dict[str, Any]] = []
    for name in wanted:
        console.rule(f"bench {name}")
        started = datetime.now(UTC)
        try:
            result = importlib.import_module(f"bench.{name}").run()
        except Exception:  # one benchmark failing must not hide the others' results
            failed += 1
            console.print(f"[red]{name} failed:\n{traceback.format_exc()}")
            continue
        show(console, name, result)
        summary.extend({**row, "figure": f"{name}: {row['figure']}"} for row in result.get("targets") or [])
        path = RESULTS / f"{name}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(json.dumps({"benchmark": name, "started": started.isoformat(), **result}, indent=2) + "\n")
        console.print(f"  written to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    if len(wanted) > 1:
        console.rule("all targets")
        show_targets(console, "every figure against its target, this run", summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""What the full test run needs beyond Python and make, checked up front by ``make test``.

``python -m tests.support.prerequisites`` prints one message naming every missing program and the
``apt-get`` line that installs them all. In CI (``CI=true``) a missing program fails the run here,
before any test, because the tests that need it would fail one by one; locally it is a warning and
those tests skip. ``.ci/run`` installs the same packages on a fresh machine.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Program:
    command: str
    package: str
    needed_by: str


#: Every program a test starts or calls (the tests skip without it locally, fail without it in CI).
PROGRAMS: tuple[Program, ...] = (
    Program("redis-server", "redis-server", "the Redis event bus, rate-limit and crash tests"),
    Program("curl", "curl", "the README walk-through test"),
    Program("git", "git", "the breaking-change gate's tests, which read the contracts' history"),
    Program("wrk", "wrk", "the intake benchmark's figures test (tests/unit/bench)"),
    Program("initdb", "postgresql", "the tests on PostgreSQL, the scaled database (tests/support/postgres.py)"),
    Program("chromium", "chromium", "the browser tests, driven by Playwright (tests/support/browser.py)"),
)


def locate(command: str) -> str | None:
    """A program on the PATH, or in Debian's versioned PostgreSQL folder (``initdb`` and ``pg_ctl``
    live in /usr/lib/postgresql/<version>/bin, off the PATH): the newest version."""
    found = shutil.which(command)
    if found:
        return found
    versions = glob.glob(f"/usr/lib/postgresql/*/bin/{command}")
    return max(versions, key=lambda p: int(Path(p).parts[-3]), default=None)


def missing(which: Callable[[str], str | None] = locate) -> list[Program]:
    return [p for p in PROGRAMS if which(p.command) is None]


def in_ci(environ: Mapping[str, str]) -> bool:
    return environ.get("CI", "").lower() in {"1", "true", "yes"}


def report(absent: list[Program], *, ci: bool) -> str:
    names = "\n".join(f"  - {p.command}: {p.needed_by}" for p in absent)
    packages = " ".join(sorted({p.package for p in absent}))
    consequence = "CI needs every one of them." if ci else "The tests that need them will skip."
    return (
        f"The full test run needs programs that are not installed:\n{names}\n"
        f"Install them with: sudo apt-get install -y {packages}\n{consequence}"
    )


def main(environ: Mapping[str, str] = os.environ, which: Callable[[str], str | None] = locate) -> int:
    absent = missing(which)
    if not absent:
        return 0
    ci = in_ci(environ)
    print(("error: " if ci else "warning: ") + report(absent, ci=ci), file=sys.stderr)
    return 1 if ci else 0


if __name__ == "__main__":
    sys.exit(main())

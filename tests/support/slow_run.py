"""A deliberately slow run, to show that no test depends on a token minted long before it runs.

Not loaded by default. ``-p tests.support.slow_run`` adds two options:

- ``--token-lifetime=SECONDS``: test tokens (``tests.support.tokens``) live this long instead of 15
  minutes;
- ``--pause-after-collection=SECONDS``: sleep this long between collection and the first test,
  which is what a slow or busy machine does to a token minted at import.

With a pause longer than the lifetime plus the verifiers' 30 s leeway, a token minted at
collection has expired when its test sends it (401); tokens minted per test still pass::

    pytest -p tests.support.slow_run --token-lifetime=5 --pause-after-collection=40 tests/unit/system_apis
"""

from __future__ import annotations

import time

import pytest

from tests.support import tokens


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("slow_run", "a deliberately slow run (tests/support/slow_run.py)")
    group.addoption("--token-lifetime", type=int, default=None, help="seconds a test token lives")
    group.addoption("--pause-after-collection", type=float, default=0.0, help="seconds to sleep before the tests")


def pytest_configure(config: pytest.Config) -> None:
    lifetime = config.getoption("--token-lifetime")
    if lifetime is not None:
        tokens.DEFAULT_LIFETIME = lifetime


def pytest_collection_finish(session: pytest.Session) -> None:
    pause = float(session.config.getoption("--pause-after-collection"))
    if pause > 0:
        # The point of this plugin is to lose time on purpose, like a machine slower than the tokens' lifetime.
        time.sleep(pause)


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"slow_run: test tokens live {tokens.DEFAULT_LIFETIME} s (+30 s leeway), "
        f"pause after collection {config.getoption('--pause-after-collection')} s"
    )

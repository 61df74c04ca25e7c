"""A headless Chromium page for browser tests: Debian's ``chromium`` driven by Playwright for Python.

Playwright's own browser download (``playwright install``) is never used: the page runs on the
system's ``/usr/bin/chromium`` (``.ci/run`` installs the Debian package ``chromium``) through
``executable_path``. Without chromium or the ``playwright`` package the tests skip locally and fail
in CI (``skip_or_fail``).

Fixtures (the root conftest loads this module as a plugin, so any test may ask for them):

- ``browser_page``: a fresh Playwright ``Page`` (sync API) in its own browser context.
- ``external_requests``: the URLs the page tried to fetch from anywhere but loopback. The page is
  offline by construction: such requests are aborted, never sent, and recorded here, so a test
  can assert that a page renders with no network (no CDN) by asserting this list is empty.

The browser itself is started once per test module (``chromium_browser``): a launch costs about a
second of CPU on a small machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.conftest import skip_or_fail

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

#: Debian's chromium; INTERCHANGE_TEST_CHROMIUM names another binary.
CHROMIUM = "/usr/bin/chromium"

#: The machine's network is closed: no QUIC, no background fetches, no updates, no sync.
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def chromium_path() -> str | None:
    configured = os.environ.get("INTERCHANGE_TEST_CHROMIUM", CHROMIUM)
    return shutil.which(configured)


def is_local(url: str) -> bool:
    """A URL the page may load offline: loopback over http(s), or inline (data:, blob:, about:)."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return parts.scheme in {"http", "https", "ws", "wss"} and (parts.hostname or "") in LOOPBACK_HOSTS


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        skip_or_fail(f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")
        raise AssertionError("unreachable")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -e '.[dev]'; never `playwright install`)")
        raise AssertionError("unreachable") from None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=list(LAUNCH_ARGS))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def external_requests() -> list[str]:
    return []


@pytest.fixture
def browser_page(chromium_browser: Browser, external_requests: list[str]) -> Iterator[Page]:
    context = chromium_browser.new_context(service_workers="block")

    def refuse(route: Route) -> None:
        external_requests.append(route.request.url)
        route.abort("internetdisconnected")

    context.route(lambda url: not is_local(url), refuse)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()

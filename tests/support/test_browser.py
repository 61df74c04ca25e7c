"""The shared headless-browser fixture: Debian's chromium, offline by construction."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_the_page_renders_and_never_reaches_beyond_loopback(browser_page: Page, external_requests: list[str]) -> None:
    browser_page.set_content(
        '<h1 id="t">Interchange</h1><img src="https://cdn.example.com/logo.png"><script src="http://example.org/x.js"></script>'
    )

    assert browser_page.locator("#t").inner_text() == "Interchange"
    assert sorted(external_requests) == ["http://example.org/x.js", "https://cdn.example.com/logo.png"]

"""How Debian chromium is launched headless here (browser tests and the README screenshots).

Without the networking flags chromium keeps trying to reach Google's hosts, which this
machine's closed network refuses.
"""

from __future__ import annotations

from typing import Any

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: The password of every account of the browser tests' registry (tests/e2e/conftest.py).
E2E_PASSWORD = "browser-test-password-1"


def see(locator: Any, text: str, timeout: float = 20_000) -> None:
    """Wait until ``locator`` shows ``text``; fails with the text it showed instead.

    A page read straight after a click can be the old page or the empty new document still
    being committed (``page.content()`` then returns ''), so assertions on what a click led to
    go through here.
    """
    from playwright.sync_api import expect

    expect(locator).to_contain_text(text, timeout=timeout)

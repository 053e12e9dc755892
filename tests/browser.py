"""How Debian chromium is launched headless here (browser tests and the README screenshots).

Without the networking flags chromium keeps trying to reach Google's hosts, which this
machine's closed network refuses.
"""

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

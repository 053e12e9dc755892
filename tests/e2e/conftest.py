"""Browser tests: the real server (``cpstem serve``) driven by headless Debian chromium."""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM_ARGS
from tests.registry.cli_env import Registry
from tests.system import chromium

PASSWORD = "browser-test-password-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("e2e") / "data")
    for name, role, site in (
        ("clara", "clinician", "LUB"),
        ("moni", "monitor", "LUB"),
        ("bob", "clinician", "KRK"),
    ):
        reg.run(
            "user",
            "create",
            name,
            "--role",
            role,
            "--site",
            site,
            "--password-stdin",
            stdin=PASSWORD,
        )
    proc, url = reg.serve()
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def login(browser, server):
    pages = []

    def as_user(name: str):
        context = browser.new_context(
            viewport={"width": 1024, "height": 1366}
        )  # a tablet, portrait
        page = context.new_page()
        page.set_default_timeout(20000)
        page.goto(server + "/accounts/login/")
        page.fill("#id_username", name)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/patients/")
        pages.append(context)
        return page

    yield as_user
    for c in pages:
        c.close()

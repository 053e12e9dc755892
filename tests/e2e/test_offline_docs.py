"""The API docs work with no network beyond the registry (issue 8), and the pages break no
rule of their Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_api_docs_render_with_other_origins_blocked(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30000)
    blocked: list[str] = []
    violations: list[str] = []

    def only_localhost(route):
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_localhost)
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    try:
        page.goto(server + "/api/v1/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "cpstem registry API" in page.inner_text(".swagger-ui .info .title")
        # the operations are listed from the registry's own OpenAPI schema
        page.wait_for_selector(".opblock-summary-path")
        assert page.locator(".opblock").count() > 10
        page.goto(server + "/accounts/login/")
        page.wait_for_selector("#id_username")
    finally:
        context.close()
    assert blocked == []  # nothing was even asked of another origin
    assert violations == []

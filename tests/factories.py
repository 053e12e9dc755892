"""Test data, clients and file readers shared by several test modules.

Test modules import helpers from here (or from the other helper modules: ``tests.browser``,
``tests.pgserver``, ``tests.system``, ``tests.registry.cli_env``, ``tests.evidence.parity``),
never from another ``test_*`` module or a ``conftest``; ``tests/test_layout.py`` checks it.
Nothing here imports Django at import time, so the pure layers' tests stay Django-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cpstem.measures import gmfm

#: The password of every user the registry fixtures create.
PASSWORD = "correct-horse-battery-9"

#: A user-supplied curve set (CSV): GMFCS I limit 85 with age-90 4.5 y, so 0.9 * 85 = 76.5 at
#: 4.5 years.
CURVE_SET_CSV = """# name: myregistry
# citation: Our national CP registry, 2025
gmfcs,limit,age90_years,source
I,85,4.5,registry report 2025 table 3
II,66,4.1,
III,52,3.6,
IV,39,3.3,
V,21,2.6,
"""


def item_map_text(
    steps: tuple[float, float, float] = (-1.0, 0.0, 1.0),
    intercept: float = 50.0,
    slope: float = 10.0,
    items: Iterable[int] = gmfm.GMFM66_ITEMS,
) -> str:
    """A synthetic GMFM-66 item map (CSV): every item has the same three step thresholds.

    With the default symmetric thresholds (-1, 0, 1) a raw score of half the maximum gives
    theta 0, that is GMFM-66 = ``intercept``.
    """
    lines = [
        "# name: synthetic-test-map",
        "# source: SYNTHETIC, for tests only",
        f"# intercept: {intercept}",
        f"# slope: {slope}",
        "item,step1_logit,step2_logit,step3_logit",
    ]
    lines += [f"{n},{steps[0]},{steps[1]},{steps[2]}" for n in items]
    return "\n".join(lines) + "\n"


def svg_texts(path) -> list[str]:
    """Texts of a matplotlib SVG file, in drawing order (matplotlib draws text as paths and
    writes each text in a comment before them)."""
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text, f"{path} is not an SVG file"
    return [part.split(" -->", 1)[0] for part in text.split("<!-- ")[1:]]


class Api:
    """A JSON client of the registry API (``/api/v1``) with a bearer token.

    Given a user, a fresh token is issued for it; given ``token``, that token is sent.
    """

    def __init__(self, user: Any = None, token: str | None = None):
        from django.test import Client

        from cpstem.registry.models import ApiToken

        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            _, token = ApiToken.objects.issue(user, "test")
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, headers: dict[str, str] | None = None):
        return self.client.get("/api/v1" + path, headers=self.headers | (headers or {}))

    def patch(self, path: str, body: Any, headers: dict[str, str] | None = None):
        return self.client.patch(
            "/api/v1" + path,
            body,
            content_type="application/json",
            headers=self.headers | (headers or {}),
        )

    def delete(self, path: str, headers: dict[str, str] | None = None):
        return self.client.delete("/api/v1" + path, headers=self.headers | (headers or {}))

    def post(self, path: str, body: Any):
        return self.client.post(
            "/api/v1" + path, body, content_type="application/json", headers=self.headers
        )

"""The "DEMO registry" banner: shown on every page while the synthetic demo cohort is loaded."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

#: The codes of the demo sites (as :data:`cpstem.registry.demo.SITES`, without importing the
#: cohort generator into every request).
DEMO_SITE_CODES = ("DEMO-N", "DEMO-S")


def demo_loaded() -> bool:
    """Whether the registry holds synthetic children of the demo sites (one indexed query)."""
    from cpstem.registry.models import Patient

    return Patient.objects.filter(site__code__in=DEMO_SITE_CODES, is_synthetic=True).exists()


def demo_context(request: HttpRequest) -> dict[str, Any]:
    return {"demo_registry": demo_loaded()}

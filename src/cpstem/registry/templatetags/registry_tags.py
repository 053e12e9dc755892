"""Template helpers (formatting only: what a role may see is decided by
:mod:`cpstem.registry.privacy`, and views pass templates projected data)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def sci(value: Any) -> str:
    """A cell count as 5.0 x 10^7."""
    from cpstem.outcomes.dose import sci as fmt

    try:
        return fmt(float(value))
    except (TypeError, ValueError):
        return ""

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


@register.filter
def percent(value: Any, digits: int = 1) -> str:
    """A proportion 0-1 as a percentage number (``0.1234`` -> ``12.3``); "" for none."""
    if value is None or value == "":
        return ""
    try:
        return f"{100 * float(value):.{int(digits)}f}"
    except (TypeError, ValueError):
        return ""

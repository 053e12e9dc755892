"""Shared matplotlib helpers for the plotting functions of the domain layers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import matplotlib

F = TypeVar("F", bound=Callable[..., Any])


def literal_text(func: F) -> F:
    """Draw every text of the figure literally: study labels and titles come from users, and a
    ``$...$`` in them must neither be typeset as mathtext nor crash the plot."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context({"text.parse_math": False}):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]

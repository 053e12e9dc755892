"""Shared matplotlib helpers for the plotting functions of the domain layers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import matplotlib

from cpstem.errors import CpstemError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

F = TypeVar("F", bound=Callable[..., Any])


def literal_text(func: F) -> F:
    """Draw every text of the figure literally: study labels and titles come from users, and a
    ``$...$`` in them must neither be typeset as mathtext nor crash the plot."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context({"text.parse_math": False}):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


#: The file types a plot can be saved as (by the suffix of its name).
FORMATS = (".png", ".svg", ".pdf")


def save_figure(
    fig: Figure, out: str | Path | None, error: type[CpstemError] = CpstemError
) -> None:
    """Save ``fig`` to ``out`` (a .png, .svg or .pdf name; folders are created); nothing when
    ``out`` is ``None``. Another suffix is ``error`` (code ``invalid_choice``, field ``out``)."""
    if out is None:
        return
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise error(
            f"plot file {path.name}: use a .png, .svg or .pdf name",
            code="invalid_choice",
            field="out",
            params={"suffix": path.suffix},
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)

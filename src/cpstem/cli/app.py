"""A Typer application whose commands turn user mistakes into one line and exit status 1."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer

from cpstem.cli.console import err_console
from cpstem.cli.errors import USER_ERRORS

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command: a user error prints ``error: <message>`` on stderr and exits 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


class App(typer.Typer):
    """``typer.Typer`` with every command :func:`guarded`; no tracebacks for user mistakes."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_enable", False)
        kwargs.setdefault("add_completion", False)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """Like ``Typer.command``, but registers the function :func:`guarded`; returns it as is."""
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(guarded(func))
            return func

        return decorator

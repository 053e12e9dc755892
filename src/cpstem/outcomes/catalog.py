"""The bundled data files of :mod:`cpstem.outcomes` (``data/*.toml``, each with its sources)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from cpstem.outcomes.errors import OutcomeError


@cache
def data(name: str) -> dict[str, Any]:
    """A bundled TOML file by stem: ``dose``, ``schedule``, ``adverse_events``, ``plausibility``."""
    path = resources.files("cpstem.outcomes").joinpath("data").joinpath(f"{name}.toml")
    with path.open("rb") as fh:
        return tomllib.load(fh)


def read_toml(path: str | Path) -> dict[str, Any]:
    """A user's TOML file (e.g. a site's schedule), with one clear error if unreadable."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise OutcomeError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise OutcomeError(f"{path}: not valid TOML ({exc})") from None


def choices(section: str) -> list[tuple[str, str]]:
    """(code, label) pairs of an adverse-event vocabulary (relatedness, action, outcome)."""
    return [(v["code"], v["label"]) for v in data("adverse_events")[section]["values"]]


def ctcae_grades() -> list[tuple[int, str, str]]:
    """(grade, label, descriptor) of the CTCAE v5.0 general grade definitions."""
    return [
        (g["grade"], g["label"], g["descriptor"]) for g in data("adverse_events")["ctcae"]["grades"]
    ]

"""The bundled data files of :mod:`cpstem.outcomes` (``data/*.toml``, each with its sources)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from cpstem.datafiles import toml_data
from cpstem.outcomes.errors import OutcomeError


def data(name: str) -> dict[str, Any]:
    """A bundled TOML file by stem: ``dose``, ``schedule``, ``adverse_events``, ``plausibility``.

    Read through :mod:`cpstem.datafiles` (every record names its source); do not modify.
    """
    return toml_data("cpstem.outcomes", f"data/{name}.toml")


def read_toml(path: str | Path) -> dict[str, Any]:
    """A user's TOML file (e.g. a site's schedule), with one clear error if unreadable."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise OutcomeError(
            f"{path}: no such file", code="not_found", field="path", params={"path": str(path)}
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise OutcomeError(
            f"{path}: not valid TOML ({exc})",
            code="malformed_file",
            field="path",
            params={"path": str(path)},
        ) from None


def choices(section: str) -> list[tuple[str, str]]:
    """(code, label) pairs of an adverse-event vocabulary (relatedness, action, outcome)."""
    return [(v["code"], v["label"]) for v in data("adverse_events")[section]["values"]]


def ctcae_grades() -> list[tuple[int, str, str]]:
    """(grade, label, descriptor) of the CTCAE v5.0 general grade definitions."""
    return [
        (g["grade"], g["label"], g["descriptor"]) for g in data("adverse_events")["ctcae"]["grades"]
    ]

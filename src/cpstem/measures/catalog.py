"""Loading of the bundled clinical catalogues (data files next to this module)."""

from __future__ import annotations

import csv
import tomllib
from functools import cache
from importlib import resources
from typing import Any


def _data_path(name: str):
    return resources.files("cpstem.measures").joinpath("data").joinpath(name)


@cache
def classifications() -> dict[str, Any]:
    """The parsed ``classifications.toml`` (levels, subtypes, MRICS, MAS, Tardieu, muscles)."""
    with _data_path("classifications.toml").open("rb") as fh:
        return tomllib.load(fh)


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a bundled CSV data file as dictionaries."""
    with _data_path(name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))

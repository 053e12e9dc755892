"""Loading of the bundled clinical catalogues (data files next to this module).

Read through :mod:`cpstem.datafiles`, which refuses a record without a source.
"""

from __future__ import annotations

from typing import Any

from cpstem.datafiles import csv_rows, toml_data


def classifications() -> dict[str, Any]:
    """The parsed ``classifications.toml`` (levels, subtypes, MRICS, MAS, Tardieu, muscles)."""
    return toml_data("cpstem.measures", "data/classifications.toml")


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a bundled CSV data file as dictionaries."""
    return [dict(row) for row in csv_rows("cpstem.measures", f"data/{name}")]

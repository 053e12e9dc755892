"""Bundled example inputs (synthetic, for the tour and the docs)."""

from importlib import resources
from pathlib import Path


def path(name: str) -> Path:
    """Filesystem path of a bundled example file."""
    return Path(str(resources.files("cpstem.examples").joinpath(name)))

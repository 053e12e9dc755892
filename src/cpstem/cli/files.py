"""Reading the small CSV inputs of the command line: GMFM sheets and child trajectories."""

from __future__ import annotations

from pathlib import Path

from cpstem.cli.errors import InputFileError
from cpstem.csvtext import CsvText, parse_csv_text, read_text_file
from cpstem.measures import MeasureError
from cpstem.measures.gmfm import parse_item_number


def read_table(path: Path) -> CsvText:
    """A CSV file with ``#`` comments; one clear error if it is missing or not text."""
    text = read_text_file(path, InputFileError)
    return parse_csv_text(text, path.name, InputFileError)


def read_gmfm_sheet(path: Path) -> dict[int, str]:
    """A GMFM-88 sheet: long format ``item,score`` (one row per item; missing rows = NT).

    Scores stay text here; :func:`cpstem.measures.gmfm.score_gmfm88` validates them.
    """
    table = read_table(path)
    if not {"item", "score"} <= set(table.columns):
        raise InputFileError(f"{path.name}: columns must include item,score")
    sheet: dict[int, str] = {}
    for lineno, row in table.rows:
        try:
            number = parse_item_number(row["item"])
        except MeasureError as exc:
            raise InputFileError(f"{path.name} line {lineno}: {exc}") from None
        if number in sheet:
            raise InputFileError(f"{path.name} line {lineno}: item {number} is given twice")
        sheet[number] = row["score"]
    return sheet


def read_child_points(path: Path) -> list[tuple[float, float]]:
    """A child's observations: columns ``age_years`` and ``gmfm66``."""
    table = read_table(path)
    if not {"age_years", "gmfm66"} <= set(table.columns):
        raise InputFileError(f"{path.name}: columns must include age_years,gmfm66")
    points: list[tuple[float, float]] = []
    for lineno, row in table.rows:
        try:
            points.append((float(row["age_years"]), float(row["gmfm66"])))
        except ValueError:
            raise InputFileError(
                f"{path.name} line {lineno}: age_years and gmfm66 must be numbers"
            ) from None
    if not points:
        raise InputFileError(f"{path.name}: no observations")
    return points

"""Small text inputs: CSV with ``#`` comment lines and line-numbered rows, and file reading."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from cpstem.errors import CpstemError


@dataclass(frozen=True)
class CsvText:
    """Header (lower-cased), rows with their 1-based line numbers, ``# key: value`` metadata."""

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]
    meta: dict[str, str] = field(default_factory=dict)


def parse_csv_text(text: str, where: str, error: type[CpstemError] = CpstemError) -> CsvText:
    """Parse ``text``; malformed input raises ``error`` naming ``where`` and the line."""
    text = text.removeprefix("\ufeff")
    meta: dict[str, str] = {}
    numbered: list[tuple[int, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            key, sep, value = stripped[1:].partition(":")
            if sep and key.strip():
                meta[key.strip().lower()] = value.strip()
        elif stripped:
            numbered.append((lineno, line))
    if not numbered:
        raise error(
            f"{where}: no header line (the file is empty)",
            code="malformed_file",
            params={"where": where},
        )
    header_line, header = numbered[0]
    columns = [c.strip().lower() for c in next(csv.reader([header]))]
    if len(set(columns)) != len(columns) or "" in columns:
        raise error(
            f"{where} line {header_line}: column names must be unique and non-empty",
            code="malformed_file",
            params={"where": where, "line": header_line},
        )
    rows = []
    for lineno, line in numbered[1:]:
        cells = next(csv.reader([line]))
        if len(cells) > len(columns):
            raise error(
                f"{where} line {lineno}: {len(cells)} values but only {len(columns)} columns",
                code="malformed_file",
                params={"where": where, "line": lineno},
            )
        cells += [""] * (len(columns) - len(cells))
        rows.append((lineno, {c: v.strip() for c, v in zip(columns, cells, strict=True)}))
    return CsvText(columns=columns, rows=rows, meta=meta)


def read_text_file(path: Path, error: type[CpstemError], what: str = "file") -> str:
    """The UTF-8 text of ``path``; a missing file, a folder or binary content raise ``error``."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(
            f"{what} {path} does not exist",
            code="not_found",
            field="path",
            params={"path": str(path)},
        ) from None
    except IsADirectoryError:
        raise error(
            f"{what} {path} is a folder, not a file",
            code="not_a_file",
            field="path",
            params={"path": str(path)},
        ) from None
    except UnicodeDecodeError:
        raise error(
            f"{what} {path} is not a UTF-8 text file",
            code="malformed_file",
            field="path",
            params={"path": str(path)},
        ) from None

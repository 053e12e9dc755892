"""One loader for the data files packaged with cpstem: every record must name its source.

Clinical numbers (item lists, curve parameters, dose ranges, ...) live in CSV and TOML files
next to the code that reads them. Every such file is read through this module, which refuses a
file in which a record has no provenance, with a :class:`DataFileError` (code
``"missing_source"``, ``params`` ``file`` and ``row``) naming the file and the record.

The rule:

* **CSV**: the file has a ``source`` column and every row has a non-empty ``source``. Rows are
  numbered from 1 (the first row after the header); the message also gives the line number.
* **TOML**: every *record* that holds data must carry a source or sit inside one that does. A
  record is the file itself, each table, each table of an array of tables (``[[levels]]``) and
  each inline table of an array (``levels = [{...}, ...]``). It *holds data* when one of its
  values is not text (a number, a date, a boolean, a list of plain values); records of text
  only (a title, a note) need no source. It *carries a source* when it has a non-empty
  ``source`` or ``sources`` key, or keys named ``<what>_source`` (one per number, as
  ``min_source``/``max_source``). A source of the file (top-level ``source``) or of a table
  covers everything inside it, as ``schedule.toml``'s one file-level source covers its visits.

Files are parsed once and cached; do not modify what the readers return.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

from cpstem.errors import CpstemError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DataFileError",
    "check_csv_text",
    "check_toml_records",
    "csv_frame",
    "csv_rows",
    "data_file",
    "toml_data",
]


class DataFileError(CpstemError):
    """A packaged data file is missing, malformed or has a record without a source."""

    default_code = "malformed_file"


def data_file(package: str, name: str) -> Traversable:
    """The packaged file ``name`` (a path such as ``"data/dose.toml"``) of ``package``."""
    path = resources.files(package)
    for part in name.split("/"):
        path = path.joinpath(part)
    if not path.is_file():
        raise DataFileError(
            f"data file {name} of {package} is missing",
            code="not_found",
            params={"file": name, "package": package},
        )
    return path


def _text(package: str, name: str) -> str:
    return data_file(package, name).read_text(encoding="utf-8")


def _missing(where: str, row: int | str, line: int | None = None) -> DataFileError:
    at = f"row {row}" + (f" (line {line})" if line is not None else "")
    return DataFileError(
        f"data file {where}, {at}: no source given (every record of a data file names its source)",
        code="missing_source",
        field="source",
        params={"file": where, "row": row, "line": line},
    )


def check_csv_text(text: str, where: str) -> list[dict[str, str]]:
    """The rows of CSV ``text`` as dicts, refused if a row has no non-empty ``source``."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    rows = []
    for i, row in enumerate(reader, start=1):
        if None in row:
            raise DataFileError(
                f"data file {where}, row {i} (line {reader.line_num}): more values than columns",
                code="malformed_file",
                params={"file": where, "row": i, "line": reader.line_num},
            )
        if not (row.get("source") or "").strip():
            raise _missing(where, i, reader.line_num)
        rows.append(row)
    return rows


def _holds_data(value: Any) -> bool:
    if isinstance(value, str):
        return False
    if isinstance(value, list):
        return any(not isinstance(v, dict) for v in value)
    return not isinstance(value, dict)


def _has_source(record: Mapping[str, Any]) -> bool:
    keys = [k for k in record if k in ("source", "sources") or k.endswith("_source")]
    return any(str(record[k]).strip() for k in keys)


def check_toml_records(
    data: Mapping[str, Any], where: str, path: str = "", covered: bool = False
) -> None:
    """Refuse parsed TOML ``data`` in which a record holding data has no source (module rule)."""
    covered = covered or _has_source(data)
    if not covered and any(_holds_data(v) for v in data.values()):
        raise _missing(where, path or "(top level)")
    for key, value in data.items():
        here = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            check_toml_records(value, where, here, covered)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    check_toml_records(item, where, f"{here}[{i}]", covered)


@cache
def toml_data(package: str, name: str) -> dict[str, Any]:
    """The parsed packaged TOML file, checked (see the module rule). Cached: do not modify."""
    where = f"{package.rsplit('.', 1)[-1]}/{name}"
    try:
        data = tomllib.loads(_text(package, name))
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(
            f"data file {where}: not valid TOML ({exc})",
            code="malformed_file",
            params={"file": where},
        ) from None
    check_toml_records(data, where)
    return data


@cache
def csv_rows(package: str, name: str) -> tuple[dict[str, str], ...]:
    """The rows of a packaged CSV file as dicts of text, checked. Cached: do not modify."""
    where = f"{package.rsplit('.', 1)[-1]}/{name}"
    return tuple(check_csv_text(_text(package, name), where))


def csv_frame(package: str, name: str) -> pd.DataFrame:
    """A packaged CSV file as a new DataFrame (empty cells missing, ``"NA"`` kept), checked."""
    import pandas as pd

    csv_rows(package, name)
    return pd.read_csv(io.StringIO(_text(package, name)), keep_default_na=False, na_values=[""])

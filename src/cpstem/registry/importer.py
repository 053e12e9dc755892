"""Bulk import of GMFM-88 sheets from CSV: validate every row, then write all or nothing.

Format (UTF-8 CSV, one row per sheet, header required, ``#`` lines are comments)::

    site,study_id,date,item_1,item_2,...,item_88,with_aids,goal_dimensions,gmfm66,gmfm66_se,notes

* ``study_id`` and ``date`` (YYYY-MM-DD) are required; ``site`` (site code) is required when a
  study ID exists at more than one site.
* ``item_1`` ... ``item_88``: 0, 1, 2, 3, or NT / 9 / blank for not tested; a missing item
  column means not tested.
* optional: ``with_aids`` (yes/no), ``goal_dimensions`` (e.g. ``D,E``), ``gmfm66`` and
  ``gmfm66_se`` (a GMFM-66 from the GMAE for the same day), ``notes``.

A row is rejected if its patient is unknown, its date is before birth or in the future, a score
is not allowed, or a GMFM-88 already exists for that patient on that day (in the file or in the
registry). If any row is rejected nothing is written and every rejected row is reported. A row whose
number of fields differs from the header's, a cell with a line break (a quoted field running over
several lines) and a NUL character are rejected before the cells are read.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from cpstem.measures import MeasureError, gmfm
from cpstem.registry.clock import today
from cpstem.registry.errors import RegistryError
from cpstem.registry.models import GMFM66Assessment, GMFM88Assessment, Patient
from cpstem.registry.services.schedule import refresh_many
from cpstem.spreadsheet import escape_formula

ITEM_COLUMNS = [f"item_{i}" for i in range(1, 89)]
_SCORE = {"0": 0.0, "1": 1.0, "2": 2.0, "3": 3.0}
_NT = {"", "NT", "N/T", "9", "NA", "N/A", "nt", "n/t", "na", "n/a"}
_YES = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "": False,
}


@dataclass(frozen=True)
class Rejected:
    line: int
    study_id: str
    message: str


class ImportRejected(RegistryError):
    """Some rows are invalid: nothing was written. ``rows`` lists every rejected row."""

    def __init__(self, rows: list[Rejected], total: int):
        self.rows = rows
        self.total = total
        super().__init__(f"{len(rows)} of {total} rows rejected; nothing was imported")


@dataclass(frozen=True)
class ImportResult:
    sheets: int
    gmfm66: int
    patients: int


def read(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """The CSV as text columns, with the file line number of each row."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RegistryError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise RegistryError(f"{path}: not a UTF-8 text (CSV) file") from None
    lines = raw.splitlines()
    keep = [
        i
        for i, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not keep:
        raise RegistryError(f"{path.name}: empty file (no header line)")
    kept = [lines[i - 1] for i in keep]
    broken = _malformed_rows(kept, keep)
    if broken:
        raise ImportRejected(broken, len(keep) - 1)
    text = "\n".join(kept)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise RegistryError(f"{path.name}: not a valid CSV file ({exc})") from None
    df.columns = [c.strip().lower() for c in df.columns]
    if len(set(df.columns)) != len(df.columns):
        raise RegistryError(f"{path.name}: a column name appears twice")
    missing = {"study_id", "date"} - set(df.columns)
    if missing:
        raise RegistryError(
            f"{path.name}: required column(s) missing: {', '.join(sorted(missing))}"
        )
    unknown = [c for c in df.columns if c.startswith("item_") and c not in ITEM_COLUMNS]
    if unknown:
        raise RegistryError(
            f"{path.name}: unknown column(s) {', '.join(unknown)} (items are item_1 ... item_88)"
        )
    if not any(c in df.columns for c in ITEM_COLUMNS):
        raise RegistryError(f"{path.name}: no item columns (item_1 ... item_88)")
    return df, keep[1:]


def _malformed_rows(kept: list[str], numbers: list[int]) -> list[Rejected]:
    """Rows that cannot be read safely: broken quoting, a field count other than the header's,
    a quoted cell running over several lines (the line numbers and ``#`` lines would be wrong),
    a NUL character."""
    reader = csv.reader(kept, skipinitialspace=True, strict=True)
    out: list[Rejected] = []
    start = 0
    expected = None
    while True:
        problems = []
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row = []
            problems.append(f"not valid CSV ({exc}): check the quotes")
        if expected is None:
            if problems:  # the header itself: pandas reports it as a file error
                return out
            expected, start = len(row), reader.line_num
            continue
        if reader.line_num - start > 1:
            problems.append(
                f"a quoted cell runs over lines {numbers[start]}-{numbers[reader.line_num - 1]}: "
                "line breaks inside a cell are not allowed"
            )
        elif row and len(row) != expected:
            problems.append(f"{len(row)} fields, but the header has {expected}")
        if any("\x00" in line for line in kept[start : reader.line_num]):
            problems.append("a NUL (\\x00) character")
        if problems:
            sid = row[0].strip() if row else kept[start].split(",", 1)[0].strip(' "')
            out.append(Rejected(numbers[start], sid, "; ".join(problems)))
        start = reader.line_num
    return out


def _scores(df: pd.DataFrame) -> tuple[np.ndarray, dict[int, list[str]]]:
    """N x 88 matrix (NaN = not tested) and the bad cells per row index."""
    n = len(df)
    matrix = np.full((n, 88), np.nan)
    bad: dict[int, list[str]] = {}
    for j, col in enumerate(ITEM_COLUMNS):
        if col not in df.columns:
            continue
        s = df[col].str.strip()
        matrix[:, j] = s.map(_SCORE).to_numpy(dtype=float)
        invalid = ~(s.isin(_SCORE.keys()) | s.isin(_NT) | s.str.upper().isin(_NT))
        for i in np.flatnonzero(invalid.to_numpy()):
            bad.setdefault(int(i), []).append(
                f"GMFM item {j + 1} score {s.iat[i]!r}: allowed 0, 1, 2, 3 or NT (9 or blank)"
            )
    return matrix, bad


def validate(
    path: Path,
) -> tuple[pd.DataFrame, list[int], np.ndarray, list[Patient | None], list[Rejected]]:
    df, lines = read(path)
    matrix, bad = _scores(df)
    errors: dict[int, list[str]] = {i: list(msgs) for i, msgs in bad.items()}

    def err(i: int, msg: str) -> None:
        errors.setdefault(i, []).append(msg)

    has_site = "site" in df.columns
    wanted = set(df["study_id"].str.strip())
    candidates: dict[str, list[Patient]] = {}
    for p in (
        Patient.objects.filter(study_id__in=wanted)
        .select_related("site")
        .only("id", "study_id", "birth_date", "site__code")
    ):
        candidates.setdefault(p.study_id, []).append(p)
    patients: list[Patient | None] = []
    dates: list[date | None] = []
    parsed = pd.to_datetime(df["date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    now = today()
    for i in range(len(df)):
        sid = df["study_id"].iat[i].strip()
        found = candidates.get(sid, [])
        if has_site and df["site"].iat[i].strip():
            code = df["site"].iat[i].strip().upper()
            found = [p for p in found if p.site.code == code]
        patient = None
        if not sid:
            err(i, "study_id is empty")
        elif not found:
            err(
                i,
                f"no patient {sid}" + (f" at site {df['site'].iat[i].strip()}" if has_site else ""),
            )
        elif len(found) > 1:
            err(
                i,
                f"study ID {sid} exists at several sites "
                f"({', '.join(p.site.code for p in found)}): add a site column",
            )
        else:
            patient = found[0]
        patients.append(patient)
        ts = parsed.iat[i]
        day = None if pd.isna(ts) else ts.date()
        if day is None:
            err(i, f"date {df['date'].iat[i]!r} is not a date (use YYYY-MM-DD)")
        elif day > now:
            err(i, f"assessment date {day} is in the future")
        elif patient is not None and day < patient.birth_date:
            err(i, f"assessment date {day} is before the child's birth ({patient.birth_date})")
        dates.append(day)
    # duplicates in the file and in the registry
    seen: dict[tuple[int, date], int] = {}
    for i, (p, d) in enumerate(zip(patients, dates, strict=True)):
        if p is None or d is None:
            continue
        if (p.pk, d) in seen:
            err(i, f"a second GMFM-88 for {p.study_id} on {d} (also line {lines[seen[(p.pk, d)]]})")
        else:
            seen[(p.pk, d)] = i
    pids = {p.pk for p in patients if p is not None}
    existing = set()
    for start in range(0, len(pids), 500):
        chunk = list(pids)[start : start + 500]
        existing |= set(
            GMFM88Assessment.objects.filter(patient_id__in=chunk).values_list("patient_id", "date")
        )
    for (pid, d), i in seen.items():
        if (pid, d) in existing:
            err(i, f"a GMFM-88 for {patients[i].study_id} on {d} is already in the registry")
    for col in ("with_aids",):
        if col in df.columns:
            for i, v in enumerate(df[col]):
                if v.strip().lower() not in _YES:
                    err(i, f"with_aids {v!r}: use yes or no")
    if "goal_dimensions" in df.columns:
        for i, v in enumerate(df["goal_dimensions"]):
            try:
                gmfm.parse_goal_dimensions(v)
            except MeasureError as exc:
                err(i, str(exc))
    for col, lo, hi in (("gmfm66", 0.0, 100.0), ("gmfm66_se", 0.0, 50.0)):
        if col in df.columns:
            values = pd.to_numeric(df[col].str.strip().replace("", np.nan), errors="coerce")
            for i, (text, v) in enumerate(zip(df[col], values, strict=True)):
                if text.strip() and (
                    math.isnan(v) or not lo <= v <= hi or (col == "gmfm66_se" and v == 0)
                ):
                    err(
                        i,
                        f"{col} {text!r} is not valid "
                        f"({'0-100' if col == 'gmfm66' else 'above 0'})",
                    )
    rejected = [
        Rejected(lines[i], df["study_id"].iat[i], "; ".join(msgs))
        for i, msgs in sorted(errors.items())
    ]
    return df, lines, matrix, patients, rejected


def import_gmfm(path: str | Path, user=None, progress=None) -> ImportResult:
    """Validate every row; if all are valid, write them in one transaction (with history)."""
    path = Path(path)
    df, _, matrix, patients, rejected = validate(path)
    if rejected:
        raise ImportRejected(rejected, len(df))
    col = lambda name: df[name] if name in df.columns else pd.Series([""] * len(df))  # noqa: E731
    aids = [_YES[v.strip().lower()] for v in col("with_aids")]
    goals = [",".join(gmfm.parse_goal_dimensions(v)) for v in col("goal_dimensions")]
    # score in groups of identical goal dimensions (the batch scorer takes one goal set)
    totals = np.empty(len(df))
    goal_totals: list[float | None] = [None] * len(df)
    pct = np.empty((len(df), 5))
    goal_arr = np.array(goals, dtype=object)
    for g in sorted(set(goals)):
        idx = np.flatnonzero(goal_arr == g)
        r = gmfm.score_gmfm88_batch(matrix[idx], g or ())
        totals[idx] = r.total
        for k, code in enumerate("ABCDE"):
            pct[idx, k] = r.dimension_percent[code]
        if r.goal_total is not None:
            for j, i in enumerate(idx):
                goal_totals[i] = float(r.goal_total[j])
    nt = np.isnan(matrix)
    notes = list(col("notes"))
    reason = f"import {path.name}"
    sheets = []
    for i in range(len(df)):
        row = matrix[i]
        items = {str(j + 1): (None if nt[i, j] else int(row[j])) for j in range(88)}
        sheets.append(
            GMFM88Assessment(
                patient_id=patients[i].pk,
                date=pd.Timestamp(df["date"].iat[i].strip()).date(),
                items=items,
                with_aids=aids[i],
                goal_dimensions=goals[i],
                pct_a=pct[i, 0],
                pct_b=pct[i, 1],
                pct_c=pct[i, 2],
                pct_d=pct[i, 3],
                pct_e=pct[i, 4],
                total=float(totals[i]),
                goal_total=goal_totals[i],
                n_not_tested=int(nt[i].sum()),
                notes=notes[i],
                assessor=user,
            )
        )
        if progress and (i + 1) % 1000 == 0:
            progress(1000)
    n66 = 0
    with transaction.atomic():
        created = bulk_create_with_history(
            sheets,
            GMFM88Assessment,
            batch_size=2000,
            default_user=user,
            default_change_reason=reason,
        )
        if "gmfm66" in df.columns:
            extra = []
            se = col("gmfm66_se")
            for i, text in enumerate(df["gmfm66"]):
                if text.strip():
                    s = se.iat[i].strip()
                    extra.append(
                        GMFM66Assessment(
                            patient_id=patients[i].pk,
                            date=sheets[i].date,
                            score=float(text),
                            se=float(s) if s else None,
                            source="gmae",
                            sheet_id=created[i].pk if created[i].pk else None,
                        )
                    )
            bulk_create_with_history(
                extra,
                GMFM66Assessment,
                batch_size=2000,
                default_user=user,
                default_change_reason=reason,
            )
            n66 = len(extra)
        affected = {p.pk for p in patients if p is not None}
        refresh_many(affected)
    if progress:
        progress(len(df) % 1000)
    return ImportResult(sheets=len(sheets), gmfm66=n66, patients=len(affected))


def report_rows(exc: ImportRejected) -> list[dict[str, Any]]:
    """The rejected rows for a report file; text cells escaped against formula injection (the
    study ID and the messages repeat what the imported file says)."""
    return [
        {
            "line": r.line,
            "study_id": escape_formula(r.study_id),
            "problem": escape_formula(r.message),
        }
        for r in exc.rows
    ]

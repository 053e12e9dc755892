"""Bulk import of GMFM-88 sheets from CSV: validate every row, then write all or nothing.

Format (UTF-8 CSV, one row per sheet, header required, ``#`` lines are comments)::

    site,study_id,date,item_1,...,item_88,with_aids,blinded_assessor,goal_dimensions,gmfm66,gmfm66_se,notes

* ``study_id`` and ``date`` (YYYY-MM-DD) are required; ``site`` (site code) is required when a
  study ID exists at more than one site.
* ``item_1`` ... ``item_88``: 0, 1, 2, 3, or NT / 9 / blank for not tested; a missing item
  column means not tested.
* optional: ``with_aids`` (yes/no), ``blinded_assessor`` (yes/no: assessed by an assessor blind
  to the randomised allocation; it applies to the row's GMFM-66 too), ``goal_dimensions``
  (e.g. ``D,E``), ``gmfm66`` and ``gmfm66_se`` (a GMFM-66 from the GMAE for the same day),
  ``notes``.
* any other column is refused (code ``unknown_column``), naming the closest known column: a
  misspelt ``note`` column would otherwise be dropped silently.
* every cell but ``notes`` is a code, date or number: a digit of another script (``٣``) or an
  invisible control character is refused (codes ``non_ascii_digit``, ``control_character``).

A row is rejected if its patient is unknown, the sheet is refused by the registry's validation
(the same checks as the forms and the API: a date before birth, in the future or after consent
withdrawal, a score that is not allowed, ...), or a GMFM-88 (or the row's GMFM-66) already exists
for that patient on that day (in the file or in the registry; code ``duplicate_assessment``, as
the forms and the API without confirmation). If any row is rejected nothing is written and every
rejected row is reported. A row whose number of fields differs from the header's, a cell with a
line break (a quoted field running over several lines) and a NUL character are rejected before
the cells are read.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from cpstem import typedtext
from cpstem.registry.errors import FieldError, FieldErrors, RegistryError
from cpstem.registry.models import GMFM66Assessment, GMFM88Assessment, Patient
from cpstem.registry.models.base import DUPLICATE_ASSESSMENT
from cpstem.registry.services import write
from cpstem.registry.typed_input import is_typed
from cpstem.spreadsheet import escape_formula

ITEM_COLUMNS = [f"item_{i}" for i in range(1, 89)]
#: Every column a file may have.
COLUMNS = (
    "site",
    "study_id",
    "date",
    *ITEM_COLUMNS,
    "with_aids",
    "blinded_assessor",
    "goal_dimensions",
    "gmfm66",
    "gmfm66_se",
    "notes",
)
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
    """A rejected row: its line in the file, study ID, messages, and (field, code) of each
    problem (the field is the file's column; ``item_<n>`` for an item)."""

    line: int
    study_id: str
    message: str
    problems: tuple[tuple[str, str], ...] = ()


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
    unknown = [c for c in df.columns if c not in COLUMNS]
    if unknown:
        raise unknown_columns(path.name, unknown)
    if not any(c in df.columns for c in ITEM_COLUMNS):
        raise RegistryError(f"{path.name}: no item columns (item_1 ... item_88)")
    return df, keep[1:]


def unknown_columns(name: str, unknown: list[str]) -> RegistryError:
    """The refusal of a file with columns the import does not know (nothing is imported):
    code ``unknown_column``, ``field`` the first such column, ``params`` each column with the
    closest known column (``suggestions``)."""
    suggestions = {
        c: next(iter(difflib.get_close_matches(c, COLUMNS, n=1, cutoff=0.6)), None) for c in unknown
    }
    named = ", ".join(
        f"{c!r} (did you mean {s!r}?)" if s else repr(c) for c, s in suggestions.items()
    )
    hint = " (items are item_1 ... item_88)" if any(c.startswith("item_") for c in unknown) else ""
    return RegistryError(
        f"{name}: unknown column(s) {', '.join(unknown)}{hint}: {named}; the columns are site, "
        "study_id, date, item_1 ... item_88, with_aids, blinded_assessor, goal_dimensions, "
        "gmfm66, gmfm66_se, notes. Nothing was imported",
        code="unknown_column",
        field=unknown[0],
        params={"columns": unknown, "suggestions": suggestions},
    )


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


@dataclass(frozen=True)
class Checked:
    """A file read and validated row by row: the records to write, or the rejected rows."""

    sheets: list[GMFM88Assessment]
    gmfm66: list[tuple[int, GMFM66Assessment]]  # (row index of its sheet, score)
    patients: list[Patient | None]
    rejected: list[Rejected]
    total: int


#: GMFM-66 model field -> its column in the file
_GMFM66_COLUMNS = {"score": "gmfm66", "se": "gmfm66_se"}


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def validate(path: Path, user: AbstractBaseUser | None = None) -> Checked:
    """Read the file and validate every row with the registry's write path
    (:func:`cpstem.registry.services.write.validate`, the checks of the forms and the API): each
    row becomes a GMFM-88 sheet (and a GMFM-66 when given) and runs the model's validation. Only
    what is particular to a file is checked here: finding the patient from the study ID (and
    site), reading the date, yes/no cells, and one sheet per patient and day."""
    df, lines = read(path)
    n = len(df)
    errors: dict[int, list[FieldError]] = {}
    codes: dict[int, list[tuple[str, str]]] = {}

    def err(i: int, field_name: str, message: str, code: str) -> None:
        errors.setdefault(i, []).append(FieldError(message, code))
        codes.setdefault(i, []).append((field_name, code))

    def refused(i: int, exc: FieldErrors, names: dict[str, str] | None = None) -> None:
        for key, errs in exc.details.items():
            for e in errs:
                errors.setdefault(i, []).append(e)
                codes.setdefault(i, []).append(((names or {}).get(key, key), e.code))

    # codes, dates and numbers: no digits of other scripts, no invisible characters
    for column in df.columns:
        if not is_typed(column):
            continue
        cells = df[column]
        for i in cells.index[cells.str.contains(typedtext.SUSPECT, regex=True)]:
            found = typedtext.problem(cells.iat[i])
            if found is not None:
                err(i, column, f"{column} {cells.iat[i]!r} {found[1]}", found[0])
    has_site = "site" in df.columns
    wanted = set(df["study_id"].str.strip())
    candidates: dict[str, list[Patient]] = {}
    for p in (
        Patient.objects.filter(study_id__in=wanted)
        .select_related("site")
        .only("id", "study_id", "birth_date", "consent_withdrawn_date", "site__code")
    ):
        candidates.setdefault(p.study_id, []).append(p)
    patients: list[Patient | None] = []
    dates: list[date | None] = []
    parsed = pd.to_datetime(df["date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    col = lambda name: df[name] if name in df.columns else pd.Series([""] * n)  # noqa: E731
    aids_text, goals, notes = col("with_aids"), col("goal_dimensions"), col("notes")
    blind_text = col("blinded_assessor")
    blinded: list[bool] = []
    item_cols = [(c, c.removeprefix("item_"), df[c].tolist()) for c in ITEM_COLUMNS if c in df]
    sheets: list[GMFM88Assessment] = []
    for i in range(n):
        sid = df["study_id"].iat[i].strip()
        found = candidates.get(sid, [])
        if has_site and df["site"].iat[i].strip():
            code = df["site"].iat[i].strip().upper()
            found = [p for p in found if p.site.code == code]
        patient = None
        if not sid:
            err(i, "study_id", "study_id is empty", "required")
        elif not found:
            where = f" at site {df['site'].iat[i].strip()}" if has_site else ""
            err(i, "study_id", f"no patient {sid}{where}", "unknown_patient")
        elif len(found) > 1:
            err(
                i,
                "site",
                f"study ID {sid} exists at several sites "
                f"({', '.join(p.site.code for p in found)}): add a site column",
                "ambiguous_patient",
            )
        else:
            patient = found[0]
        patients.append(patient)
        ts = parsed.iat[i]
        day = None if pd.isna(ts) else ts.date()
        if day is None:
            err(i, "date", f"date {df['date'].iat[i]!r} is not a date (use YYYY-MM-DD)", "invalid")
        dates.append(day)
        aids = _YES.get(aids_text.iat[i].strip().lower())
        if aids is None:
            err(i, "with_aids", f"with_aids {aids_text.iat[i]!r}: use yes or no", "invalid")
        blind = _YES.get(blind_text.iat[i].strip().lower())
        if blind is None:
            err(
                i,
                "blinded_assessor",
                f"blinded_assessor {blind_text.iat[i]!r}: use yes or no",
                "invalid",
            )
        blinded.append(bool(blind))
        sheet = GMFM88Assessment(
            patient=patient,
            date=day,
            items={number: values[i] for _, number, values in item_cols},
            with_aids=bool(aids),
            blinded_assessor=bool(blind),
            goal_dimensions=goals.iat[i].strip(),
            notes=notes.iat[i],
            assessor=user,
        )
        sheet.same_day_checked = True  # one sheet per patient and day: checked below, in bulk
        # the patient was read from the registry above (no second look-up per row)
        exclude = ["patient", "assessor"] + (["date"] if day is None else [])
        try:
            write.validate(sheet, exclude=exclude)
        except FieldErrors as exc:
            refused(i, exc)
        sheets.append(sheet)
    # one sheet per patient and day: in the file and in the registry
    seen: dict[tuple[int, date], int] = {}
    for i, (p, d) in enumerate(zip(patients, dates, strict=True)):
        if p is None or d is None:
            continue
        if (p.pk, d) in seen:
            err(
                i,
                "date",
                f"a second GMFM-88 for {p.study_id} on {d} (also line {lines[seen[(p.pk, d)]]})",
                DUPLICATE_ASSESSMENT,
            )
        else:
            seen[(p.pk, d)] = i
    pids = list({p.pk for p in patients if p is not None})
    existing = set()
    for start in range(0, len(pids), 500):
        existing |= set(
            GMFM88Assessment.objects.filter(patient_id__in=pids[start : start + 500]).values_list(
                "patient_id", "date"
            )
        )
    for (pid, d), i in seen.items():
        if (pid, d) in existing:
            err(
                i,
                "date",
                f"a GMFM-88 for {patients[i].study_id} on {d} is already in the registry",
                DUPLICATE_ASSESSMENT,
            )
    existing66 = set()
    for start in range(0, len(pids), 500):
        existing66 |= set(
            GMFM66Assessment.objects.filter(patient_id__in=pids[start : start + 500]).values_list(
                "patient_id", "date"
            )
        )
    scores: list[tuple[int, GMFM66Assessment]] = []
    if "gmfm66" in df.columns:
        se_text = col("gmfm66_se")
        for i, text in enumerate(df["gmfm66"]):
            if not text.strip():
                continue
            score, se = _number(text.strip()), se_text.iat[i].strip()
            se_value = _number(se) if se else None
            if score is None:
                err(i, "gmfm66", f"gmfm66 {text!r} is not a number", "not_a_number")
            if se and se_value is None:
                err(i, "gmfm66_se", f"gmfm66_se {se!r} is not a number", "not_a_number")
            if score is None or (se and se_value is None):
                continue
            g66 = GMFM66Assessment(
                patient=patients[i],
                date=dates[i],
                score=score,
                se=se_value,
                source="gmae",
                blinded_assessor=blinded[i],
            )
            g66.same_day_checked = True
            p, d = patients[i], dates[i]
            if p is not None and (p.pk, d) in existing66:
                err(
                    i,
                    "gmfm66",
                    f"a GMFM-66 for {p.study_id} on {d} is already in the registry",
                    DUPLICATE_ASSESSMENT,
                )
            try:  # its date is the sheet's (checked above): the score and SE are checked here
                write.validate(g66, exclude=["patient", "date", "sheet"])
            except FieldErrors as exc:
                refused(i, exc, _GMFM66_COLUMNS)
            scores.append((i, g66))
    rejected = [
        Rejected(
            lines[i],
            df["study_id"].iat[i],
            "; ".join(e.message for e in errs),
            tuple(codes.get(i, ())),
        )
        for i, errs in sorted(errors.items())
    ]
    return Checked(sheets, scores, patients, rejected, n)


def import_gmfm(
    path: str | Path,
    user: AbstractBaseUser | None = None,
    progress: Callable[[int], object] | None = None,
) -> ImportResult:
    """Validate every row; if all are valid, write them in one transaction (with history), all
    or nothing: one rejected row and nothing is written (every rejected row is reported)."""
    path = Path(path)
    reason = f"import {path.name}"
    with transaction.atomic():
        checked = validate(path, user)
        if checked.rejected:
            raise ImportRejected(checked.rejected, checked.total)
        if progress:
            progress(checked.total)
        created = write.create_many(checked.sheets, user=user, reason=reason)
        extra = []
        for i, g66 in checked.gmfm66:
            g66.date = created[i].date
            g66.sheet_id = created[i].pk
            extra.append(g66)
        write.create_many(extra, user=user, reason=reason)
        affected = {p.pk for p in checked.patients if p is not None}
        write.refresh_derived_many(affected, sheets=created)
    return ImportResult(sheets=len(created), gmfm66=len(extra), patients=len(affected))


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

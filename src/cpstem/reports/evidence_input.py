"""A user's own trial data for ``cpstem evidence run FILE.csv``: format and validation.

One row per study. Columns (names are case-insensitive; ``#`` lines are comments):

* always: ``study`` (label); optional ``subgroup`` (or any column named with ``--subgroup``);
* MD, SMD, ROM (two groups, group 1 = treatment): ``m1i, sd1i, n1i, m2i, sd2i, n2i``;
* SMCR (standardised mean change, one group): ``m1i`` (mean after), ``m2i`` (mean before),
  ``sd1i`` (SD before), ``ni``, ``ri`` (pre-post correlation);
* OR, RR, RD, PETO: ``ai, n1i, ci, n2i`` (events and group sizes) or ``ai, bi, ci, di``
  (2x2 table: events / non-events in group 1, then group 2);
* PR, PLO, PAS, PFT (single proportions): ``xi, ni``;
* ZCOR (correlations): ``ri, ni``;
* GEN (precomputed effects): ``yi`` with ``vi`` (variance) or ``sei`` (standard error).

Every problem is reported once, naming the line and column, e.g.
``trials.csv line 4, column sd1i: 'abc' is not a number``. For programs, each error also carries
a ``code`` (``not_a_number``, ``not_finite``, ``not_a_count``, ``not_positive``, ``out_of_range``,
``required``, ``exceeds_total``, ``too_small``, ``missing_column``, ``unsupported_measure``,
``empty``), the ``field`` (the column) and ``params`` with the file (``source``), ``line``,
``column`` and ``value``.

A valid file is then screened for extraction mistakes (``cpstem.evidence.sanity``): an SD that
looks like a standard error (an implausibly large Cohen's d, or an SD far below the other rows'),
reported as warnings naming the line (terminal, report and ``results.json`` ``sanity``); the
warnings never change the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cpstem.csvtext import parse_csv_text, read_text_file
from cpstem.evidence.errors import EvidenceError
from cpstem.numbers import finite_float

CONTINUOUS = ("MD", "SMD", "ROM")
BINARY = ("OR", "RR", "RD", "PETO")
PROPORTIONS = ("PR", "PLO", "PAS", "PFT")
MEASURES = (*CONTINUOUS, "SMCR", *BINARY, *PROPORTIONS, "ZCOR", "GEN")

#: Column sets per measure; the first set that is fully present is used.
LAYOUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    **{m: (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),) for m in CONTINUOUS},
    "SMCR": (("m1i", "m2i", "sd1i", "ni", "ri"),),
    **{m: (("ai", "n1i", "ci", "n2i"), ("ai", "bi", "ci", "di")) for m in BINARY},
    **{m: (("xi", "ni"),) for m in PROPORTIONS},
    "ZCOR": (("ri", "ni"),),
    "GEN": (("yi", "vi"), ("yi", "sei")),
}
_COUNTS = {"n1i", "n2i", "ni", "ai", "bi", "ci", "di", "xi"}
_POSITIVE = {"sd1i", "sd2i", "vi", "sei"}


@dataclass(frozen=True)
class StudyTable:
    """Validated columns (float arrays), study labels and optional subgroup labels."""

    measure: str
    columns: dict[str, np.ndarray]
    studies: list[str]
    subgroups: list[str] | None = None
    source: str = ""
    lines: list[int] = field(default_factory=list)

    @property
    def k(self) -> int:
        return len(self.studies)


def _error(
    message: str, code: str, field: str | None, source: str, line: int | None = None, **params
) -> EvidenceError:
    """An :class:`EvidenceError` about ``field`` (a column) of the file ``source``, with the line
    and column (if any) in ``params``."""
    where = {"source": source, "line": line, "column": field}
    return EvidenceError(message, code=code, field=field, params=where | params)


def _number(text: str, name: str, line: int, column: str) -> float:
    where = f"{name} line {line}, column {column}"

    def fail(message: str, code: str) -> EvidenceError:
        return _error(f"{where}: {message}", code, column, name, line, value=text)

    where_params = {"source": name, "line": line, "column": column}
    value = finite_float(text, f"{where}:", EvidenceError, field=column, params=where_params)
    if column in _COUNTS and (value < 0 or not value.is_integer()):
        raise fail(f"{text} must be a whole number >= 0", "not_a_count")
    if column in _POSITIVE and value <= 0:
        raise fail(f"{text} must be greater than 0", "not_positive")
    if column == "ri" and not -1 < value < 1:
        raise fail(f"{text} must lie between -1 and 1", "out_of_range")
    return value


def parse_study_table(
    text: str, measure: str, name: str = "data", subgroup: str | None = None
) -> StudyTable:
    """Validate CSV text for ``measure`` (see the module docstring for the format)."""
    measure = measure.upper()
    if measure not in LAYOUTS:
        raise EvidenceError(
            f"measure {measure!r} is not supported: use {', '.join(MEASURES)}",
            code="unsupported_measure",
            field="measure",
            params={"measure": measure, "allowed": list(MEASURES)},
        )
    table = parse_csv_text(text, name, EvidenceError)
    if "study" not in table.columns:
        raise _error(f"{name}: a 'study' column is required", "missing_column", "study", name)
    layout = next((cols for cols in LAYOUTS[measure] if set(cols) <= set(table.columns)), None)
    if layout is None:
        wanted = " or ".join(",".join(cols) for cols in LAYOUTS[measure])
        missing = [c for c in LAYOUTS[measure][0] if c not in table.columns]
        raise _error(
            f"{name}: measure {measure} needs the columns {wanted}",
            "missing_column",
            missing[0],
            name,
            measure=measure,
            missing=missing,
            layouts=[list(cols) for cols in LAYOUTS[measure]],
        )
    group_col = (subgroup or "subgroup").lower()
    if subgroup and group_col not in table.columns:
        raise _error(
            f"{name}: no column {subgroup!r} for the subgroups", "missing_column", group_col, name
        )
    if not table.rows:
        raise _error(f"{name}: no studies", "empty", None, name)
    values: dict[str, list[float]] = {c: [] for c in layout}
    studies, groups, lines = [], [], []
    for lineno, row in table.rows:
        where = f"{name} line {lineno}"
        label = row["study"].strip()
        if not label:
            raise _error(
                f"{where}, column study: the study label is empty",
                "required",
                "study",
                name,
                lineno,
            )
        for col in layout:
            if row[col] == "":
                raise _error(
                    f"{where}, column {col}: value is missing", "required", col, name, lineno
                )
            values[col].append(_number(row[col], name, lineno, col))
        _check_row(measure, {c: values[c][-1] for c in layout}, name, lineno)
        studies.append(label)
        lines.append(lineno)
        if group_col in table.columns:
            groups.append(row[group_col].strip() or "(none)")
    return StudyTable(
        measure=measure,
        columns={c: np.array(v, dtype=float) for c, v in values.items()},
        studies=studies,
        subgroups=groups or None,
        source=name,
        lines=lines,
    )


def _check_row(measure: str, row: dict[str, float], name: str, line: int) -> None:
    """Cross-column checks: events within group sizes, positive means for ROM, n >= 2."""
    where = f"{name} line {line}"
    for events, total in (("ai", "n1i"), ("ci", "n2i"), ("xi", "ni")):
        if events in row and total in row and row[events] > row[total]:
            raise _error(
                f"{where}, column {events}: {row[events]:g} events exceed {total} = {row[total]:g}",
                "exceeds_total",
                events,
                name,
                line,
                value=row[events],
                total_column=total,
                total=row[total],
            )
    for total in ("n1i", "n2i", "ni"):
        minimum = 2 if ("sd1i" in row or measure in ("SMCR", "ZCOR")) else 1
        if total in row and row[total] < minimum:
            raise _error(
                f"{where}, column {total}: must be at least {minimum}",
                "too_small",
                total,
                name,
                line,
                value=row[total],
                minimum=minimum,
            )
    if measure == "ROM" and (row["m1i"] <= 0 or row["m2i"] <= 0):
        column = "m1i" if row["m1i"] <= 0 else "m2i"
        raise _error(
            f"{where}: ROM (ratio of means) needs positive means m1i and m2i",
            "not_positive",
            column,
            name,
            line,
            value=row[column],
        )


def read_study_table(path: Path, measure: str, subgroup: str | None = None) -> StudyTable:
    """Read and validate a user's CSV file."""
    text = read_text_file(path, EvidenceError)
    return parse_study_table(text, measure, name=path.name, subgroup=subgroup)

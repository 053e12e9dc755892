"""REDCap records (flat CSV or JSON) of cpstem's instruments: export, and import all or nothing.

A records export has one row per child (event ``enrolment_arm_1``) and one per repeating
instrument instance (``redcap_repeat_instrument``, ``redcap_repeat_instance``); an assessment
lies in the event of the follow-up visit whose window holds its date, else ``unscheduled``.
Import validates every value against the data dictionary (type, choices, date format), then
saves through the registry's one write path in one transaction; every refused value is listed
with record ID, event, field and reason, and nothing is kept.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import models, transaction

from cpstem.csvtext import read_text_file
from cpstem.measures.spasticity import MuscleGroup
from cpstem.registry.errors import FieldErrors, RegistryError
from cpstem.registry.models import (
    Administration,
    Patient,
    Site,
)
from cpstem.registry.redcap.dictionary import (
    MAS_CODES,
    MAS_GRADES,
    NT,
    RECORD_COLUMNS,
    SIDES,
    Field,
    Instrument,
    events,
    fields,
    instruments,
)
from cpstem.registry.services import write
from cpstem.spreadsheet import _TRIGGERS, escape_formula

Row = dict[str, str]
EXTRA_COLUMNS = ("redcap_data_access_group",)


class RedcapError(RegistryError):
    """A REDCap file that cannot be read or whose values are refused."""


class RedcapImportError(RedcapError):
    """Every refused value: ``problems`` = [(record_id, event, field, reason)]."""

    def __init__(self, problems: list[tuple[str, str, str, str]]) -> None:
        shown = "; ".join(f"{r} {e} {f}: {m}" for r, e, f, m in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(
            f"REDCap import refused, nothing was saved: {shown}{more}",
            code="redcap_import_refused",
            params={"problems": len(problems)},
        )
        self.problems = problems


def _complete(form: str) -> str:
    return f"{form}_complete"


def record_columns() -> list[str]:
    cols = list(RECORD_COLUMNS)
    for inst in instruments():
        cols += [f.name for f in inst.fields if f.name != "record_id" and f.ftype != "calc"]
        cols.append(_complete(inst.form))
    return cols


# --- export ----------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _event_of(p: Patient, day: date) -> str:
    for v in p.visits.order_by("target_date", "pk"):
        if v.window_start <= day <= v.window_end:
            name = "Baseline" if v.months == 0 else f"Month {v.months}"
            for event_name, _, _, _, unique in events():
                if event_name == name:
                    return unique
    return events()[-1][4]


def _model_values(inst: Instrument, obj: models.Model) -> Row:
    out: Row = {}
    for f in inst.fields:
        if f.model_field and f.model_field not in ("study_id", "site", "administration"):
            out[f.name] = _text(getattr(obj, f.model_field))
    return out


def _special_values(inst: Instrument, obj: Any) -> Row:
    out: Row = {}
    if inst.form == "gmfm88":
        for n, score in obj.result.scores.items():
            out[f"g88_item_{n}"] = NT if score is None else str(score)
    elif inst.form == "spasticity":
        for r in obj.mas:
            out[f"sp_mas_{r['muscle']}_{SIDES[r['side']]}"] = MAS_CODES[r["grade"]]
        for r in obj.tardieu:
            if r.get("velocity", "V3") != "V3" or r.get("scale_version", "0-5") != "0-5":
                raise RedcapError(
                    f"{obj.patient.study_id} spasticity {obj.date}: a Tardieu rating at velocity "
                    f"{r.get('velocity')} cannot be written to the REDCap instrument (V3 only)",
                    code="not_representable",
                )
            stem = f"sp_tar_{r['muscle']}_{SIDES[r['side']]}"
            for key, part in (("r1_deg", "r1"), ("r2_deg", "r2"), ("quality", "x")):
                value = r.get(key)
                out[f"{stem}_{part}"] = _text(value)
    elif inst.form == "adverse_event" and obj.administration_id:
        out["ae_administration_date"] = obj.administration.date.isoformat()
    return out


def export_rows(patients: Iterable[Patient]) -> list[Row]:
    """The records of ``patients`` as REDCap flat rows (every value a string)."""
    insts = {i.form: i for i in instruments()}
    related = {
        "classification": "classification_set",
        "administration": "administration_set",
        "rehabilitation": "rehabepisode_set",
        "gmfm88": "gmfm88assessment_set",
        "gmfm66": "gmfm66assessment_set",
        "spasticity": "spasticityassessment_set",
        "lab": "labvalue_set",
        "adverse_event": "adverseevent_set",
    }
    enrolment = events()[0][4]
    rows: list[Row] = []
    for p in patients:
        child = insts["child"]
        row = {"record_id": p.study_id, "redcap_event_name": enrolment, "site": p.site.code}
        row |= _model_values(child, p) | {_complete("child"): "2"}
        rows.append(row)
        instance: dict[tuple[str, str], int] = defaultdict(int)
        for form, rel in related.items():
            inst = insts[form]
            for obj in getattr(p, rel).order_by("date", "pk"):
                event = (
                    enrolment
                    if form in ("administration", "rehabilitation", "adverse_event")
                    else _event_of(p, obj.date)
                )
                instance[(event, form)] += 1
                rows.append(
                    {
                        "record_id": p.study_id,
                        "redcap_event_name": event,
                        "redcap_repeat_instrument": form,
                        "redcap_repeat_instance": str(instance[(event, form)]),
                    }
                    | _model_values(inst, obj)
                    | _special_values(inst, obj)
                    | {_complete(form): "2"}
                )
    columns = record_columns()
    return [{c: r.get(c, "") for c in columns} for r in rows]


def _free_text(f: Field | None) -> bool:
    return f is not None and f.ftype in ("text", "notes") and not f.validation


def write_csv(rows: list[Row], out: Path) -> None:
    """Flat CSV; free text that a spreadsheet would run as a formula gets a leading apostrophe
    (removed again on import)."""
    by_name = {f.name: f for f in fields()}
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=record_columns())
        w.writeheader()
        for r in rows:
            w.writerow(
                {k: escape_formula(v) if _free_text(by_name.get(k)) else v for k, v in r.items()}
            )


def write_json(rows: list[Row], out: Path) -> None:
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


# --- reading -----------------------------------------------------------------------------------
def read_rows(path: Path) -> list[Row]:
    """Rows of a REDCap flat CSV or JSON records export (all values as text)."""
    text = read_text_file(path, RedcapError)
    if path.suffix.lower() == ".json" or text.lstrip().startswith("["):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RedcapError(
                f"{path.name}: not JSON ({exc.msg} at line {exc.lineno})", code="malformed_file"
            ) from None
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            raise RedcapError(
                f"{path.name}: a REDCap JSON export is a list of records", code="malformed_file"
            )
        return [{str(k): "" if v is None else str(v) for k, v in r.items()} for r in doc]
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    rows = [dict(r) for r in reader]
    if reader.fieldnames is None:
        raise RedcapError(f"{path.name}: the file is empty", code="malformed_file")
    if any(None in r for r in rows):
        raise RedcapError(
            f"{path.name}: a row has more cells than the header", code="malformed_file"
        )
    return [{k: (v or "") for k, v in r.items()} for r in rows]


def check_dictionary(path: Path) -> None:
    """The given data dictionary must be cpstem's (same variables, forms and field types)."""
    text = read_text_file(path, RedcapError)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    rows = list(reader)
    if not rows or rows[0][:1] != ["Variable / Field Name"]:
        raise RedcapError(
            f"{path.name}: not a REDCap data dictionary (first column 'Variable / Field Name')",
            code="malformed_file",
        )
    theirs = {r[0]: (r[1], r[3]) for r in rows[1:] if r}
    ours = {f.name: (f.form, f.ftype) for f in fields()}
    missing = sorted(set(ours) - set(theirs))
    unknown = sorted(set(theirs) - set(ours))
    changed = sorted(k for k in set(ours) & set(theirs) if ours[k] != theirs[k])
    if missing or unknown or changed:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:10])}")
        if unknown:
            parts.append(f"not cpstem's: {', '.join(unknown[:10])}")
        if changed:
            parts.append(f"other form or type: {', '.join(changed[:10])}")
        raise RedcapError(
            f"{path.name} is not cpstem's data dictionary ({'; '.join(parts)}): "
            "write it with `cpstem redcap dictionary`",
            code="dictionary_mismatch",
        )


# --- import ------------------------------------------------------------------------------------
def _choices(f: Field) -> set[str]:
    return {part.split(",", 1)[0].strip() for part in f.choices.split("|") if part.strip()}


def parse_value(f: Field, text: str) -> Any:
    """The registry value of one REDCap value; ValueError with the reason."""
    text = text.strip()
    if text == "":
        return None
    if f.ftype in ("dropdown", "radio"):
        if text not in _choices(f):
            raise ValueError(f"{text!r} is not one of {', '.join(sorted(_choices(f)))}")
        return text
    if f.ftype == "yesno":
        if text not in ("0", "1"):
            raise ValueError(f"{text!r} is not 1 (yes) or 0 (no)")
        return text == "1"
    if f.validation == "date_ymd":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date YYYY-MM-DD") from None
    if f.validation == "integer":
        if not text.lstrip("-").isdigit() or not text.isascii():
            raise ValueError(f"{text!r} is not a whole number")
        return int(text)
    if f.validation == "number":
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number") from None
        if not value.is_finite() or not text.isascii():
            raise ValueError(f"{text!r} is not a finite number")
        return value
    if text.startswith("'") and text[1:2].startswith(_TRIGGERS) and text[1:2]:
        return text[1:]  # escaped against formula injection on export
    return text


class _Importer:
    def __init__(self, reason: str, default_site: str | None) -> None:
        self.reason = reason
        self.default_site = default_site
        self.problems: list[tuple[str, str, str, str]] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.fields = {f.name: f for f in fields()}
        self.insts = {i.form: i for i in instruments()}

    def refuse(self, row: Row, name: str, reason: str) -> None:
        self.problems.append(
            (row.get("record_id", ""), row.get("redcap_event_name", ""), name, reason)
        )

    def values(self, inst: Instrument, row: Row) -> dict[str, Any]:
        """Parsed values of the instrument's fields in ``row`` (problems recorded)."""
        out: dict[str, Any] = {}
        for f in inst.fields:
            if f.ftype == "calc" or f.name not in row:
                continue
            try:
                out[f.name] = parse_value(f, row[f.name])
            except ValueError as exc:
                self.refuse(row, f.name, str(exc))
        return out

    def build(self, inst: Instrument, v: dict[str, Any], **extra: Any) -> models.Model:
        kwargs: dict[str, Any] = {}
        for f in inst.fields:
            if not f.model_field or f.model_field in ("study_id", "site", "administration"):
                continue
            value = v.get(f.name)
            model_f = inst.model._meta.get_field(f.model_field)
            if value is None:
                if isinstance(model_f, models.BooleanField):
                    value = False
                elif not model_f.null:
                    value = (
                        "" if isinstance(model_f, (models.CharField, models.TextField)) else None
                    )
            elif isinstance(model_f, (models.FloatField,)):
                value = float(value)
            elif isinstance(model_f, models.IntegerField) and isinstance(value, str):
                value = int(value)
            kwargs[f.model_field] = value
        return inst.model(**kwargs, **extra)

    def save(self, row: Row, inst: Instrument, obj: models.Model) -> models.Model | None:
        try:
            saved = write.save(obj, reason=self.reason)
        except FieldErrors as exc:
            for name, errors in exc.details.items():
                field_name = f"{inst.prefix}{name}" if name != "__all__" else inst.form
                if inst.form == "child" and name == "study_id":
                    field_name = "record_id"
                for e in errors:
                    self.refuse(row, field_name, f"{e.message} [{e.code}]")
            return None
        self.counts[inst.form] += 1
        return saved

    def child(self, row: Row) -> Patient | None:
        inst = self.insts["child"]
        before = len(self.problems)
        v = self.values(inst, row)
        if len(self.problems) > before:
            return None  # the values' own reasons are listed; no follow-on errors
        code = row.get("site", "").strip() or row.get("redcap_data_access_group", "").strip()
        code = code.upper() or (self.default_site or "")
        site = Site.objects.filter(code=code).first() if code else None
        if site is None:
            self.refuse(
                row,
                "site",
                f"unknown site {code!r}: create it first (cpstem site create)"
                if code
                else "no site: fill `site`, use data access groups, or pass --site",
            )
            return None
        obj = self.build(inst, v, site=site, study_id=row.get("record_id", "").strip())
        saved = self.save(row, inst, obj)
        return saved if isinstance(saved, Patient) else None

    def record(self, row: Row, p: Patient, admins: dict[date, Administration]) -> None:
        form = row.get("redcap_repeat_instrument", "")
        inst = self.insts[form]
        before = len(self.problems)
        v = self.values(inst, row)
        if len(self.problems) > before:
            return
        extra: dict[str, Any] = {"patient": p}
        if form == "gmfm88":
            extra["items"] = {
                str(n): (None if v.get(f"g88_item_{n}") in (None, NT) else int(v[f"g88_item_{n}"]))
                for n in range(1, 89)
            }
        elif form == "spasticity":
            extra |= self.spasticity(v)
        elif form == "adverse_event":
            day = v.get("ae_administration_date")
            if day is not None:
                admin = admins.get(day)
                if admin is None:
                    self.refuse(row, "ae_administration_date", f"no administration on {day}")
                    return
                extra["administration"] = admin
        obj = self.build(inst, v, **extra)
        saved = self.save(row, inst, obj)
        if isinstance(saved, Administration):
            admins[saved.date] = saved

    @staticmethod
    def spasticity(v: dict[str, Any]) -> dict[str, Any]:
        mas, tardieu = [], []
        for m in MuscleGroup:
            for side, s in SIDES.items():
                grade = v.get(f"sp_mas_{m.value}_{s}")
                if grade is not None:
                    mas.append({"muscle": m.value, "side": side, "grade": MAS_GRADES[grade]})
                stem = f"sp_tar_{m.value}_{s}"
                parts = {k: v.get(f"{stem}_{k}") for k in ("r1", "r2", "x")}
                if any(x is not None for x in parts.values()):
                    tardieu.append(
                        {
                            "muscle": m.value,
                            "side": side,
                            "r1_deg": None if parts["r1"] is None else float(parts["r1"]),
                            "r2_deg": None if parts["r2"] is None else float(parts["r2"]),
                            "quality": parts["x"],
                        }
                    )
        return {"mas": mas, "tardieu": tardieu}


@dataclass(frozen=True)
class RedcapSummary:
    counts: dict[str, int]

    def __str__(self) -> str:
        n = self.counts.get("child", 0)
        rest = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()) if k != "child")
        return f"{n} record{'' if n == 1 else 's'} imported" + (f" ({rest})" if rest else "")


ORDER = (
    "administration",
    "rehabilitation",
    "classification",
    "gmfm88",
    "gmfm66",
    "spasticity",
    "lab",
    "adverse_event",
)


def import_rows(
    rows: list[Row], reason: str = "imported from REDCap", site: str | None = None
) -> RedcapSummary:
    """Import REDCap rows made with cpstem's dictionary; all or nothing."""
    known = set(record_columns()) | set(EXTRA_COLUMNS)
    columns = {k for r in rows for k in r}
    unknown = sorted(columns - known)
    if unknown:
        raise RedcapError(
            f"unknown columns {', '.join(unknown[:10])}: the file was not made with cpstem's "
            "data dictionary (cpstem redcap dictionary)",
            code="unknown_column",
            params={"columns": unknown},
        )
    if "record_id" not in columns:
        raise RedcapError("no record_id column", code="missing_column")
    event_names = {e[4] for e in events()}
    imp = _Importer(reason, site)
    by_record: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r.get("redcap_event_name", "") not in event_names:
            imp.refuse(r, "redcap_event_name", f"unknown event {r.get('redcap_event_name')!r}")
            continue
        form = r.get("redcap_repeat_instrument", "")
        if form and form not in ORDER:
            imp.refuse(r, "redcap_repeat_instrument", f"unknown instrument {form!r}")
            continue
        by_record[r.get("record_id", "").strip()].append(r)
    with transaction.atomic():
        for record_id, own in by_record.items():
            heads = [r for r in own if not r.get("redcap_repeat_instrument")]
            if len(heads) != 1:
                imp.refuse(own[0], "record_id", f"record {record_id!r} needs exactly one child row")
                continue
            p = imp.child(heads[0])
            if p is None:
                continue
            admins: dict[date, Administration] = {}
            for form in ORDER:
                for r in own:
                    if r.get("redcap_repeat_instrument") == form:
                        imp.record(r, p, admins)
        if imp.problems:
            raise RedcapImportError(imp.problems)
    return RedcapSummary(dict(imp.counts))


__all__ = [
    "RedcapError",
    "RedcapImportError",
    "check_dictionary",
    "export_rows",
    "import_rows",
    "read_rows",
    "record_columns",
    "write_csv",
    "write_json",
]

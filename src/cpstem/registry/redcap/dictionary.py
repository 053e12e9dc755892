"""cpstem's instruments as a REDCap project: data dictionary, events and their instruments.

The dictionary has REDCap's 18 standard columns, one row per field, the fields of one form
contiguous, choices as ``code, label | code, label``, validation types and min/max. The
fields are derived from the registry's models (so a new model field appears in the dictionary);
GMFM-88 items are one radio field each, spasticity one field per muscle and side.

The project is longitudinal (one arm): an ``enrolment`` event (the child and its treatment,
rehabilitation and adverse events), one event per visit of cpstem's follow-up schedule and an
``unscheduled`` event; the assessment instruments repeat within each event.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import models

from cpstem.measures import gmfm
from cpstem.measures.spasticity import MuscleGroup
from cpstem.outcomes.catalog import data as catalog_data
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Patient,
    RehabEpisode,
    SpasticityAssessment,
)
from cpstem.registry.services.schedule import rules

#: REDCap's data dictionary columns, in order (REDCap "Data Dictionary" CSV).
COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
#: The columns REDCap adds to a records export of a longitudinal project with repeats.
RECORD_COLUMNS = (
    "record_id",
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
)
#: MAS grades as REDCap codes (a raw value may not contain "+").
MAS_CODES = {"0": "0", "1": "1", "1+": "1p", "2": "2", "3": "3", "4": "4"}
MAS_GRADES = {v: k for k, v in MAS_CODES.items()}
SIDES = {"left": "l", "right": "r"}
NT = "9"  # GMFM item not tested, as on the CanChild sheet


@dataclass(frozen=True)
class Field:
    """One REDCap field."""

    name: str
    form: str
    ftype: str
    label: str
    choices: str = ""
    validation: str = ""
    vmin: str = ""
    vmax: str = ""
    identifier: bool = False
    required: bool = False
    section: str = ""
    note: str = ""
    model_field: str | None = None  # the registry field it holds (None: special)

    def row(self) -> list[str]:
        return [
            self.name,
            self.form,
            self.section,
            self.ftype,
            self.label,
            self.choices,
            self.note,
            self.validation,
            self.vmin,
            self.vmax,
            "y" if self.identifier else "",
            "",
            "y" if self.required else "",
            "",
            "",
            "",
            "",
            "",
        ]


@dataclass(frozen=True)
class Instrument:
    form: str
    label: str
    model: type[models.Model]
    prefix: str
    repeating: bool
    skip: tuple[str, ...] = ()
    fields: list[Field] = field(default_factory=list)


_COMMON_SKIP = ("id", "patient", "created_at", "updated_at")
_IDENTIFYING = {"birth_date"}


def _choices(f: models.Field) -> str:
    return " | ".join(f"{code}, {label}" for code, label in f.flatchoices if code != "")


def _bounds(model: type[models.Model], name: str) -> tuple[str, str]:
    if model is Patient and name in ("gestational_age_weeks", "birth_weight_g"):
        lim = catalog_data("plausibility")[name]
        return str(lim["min"]), str(lim["max"])
    if model is GMFM66Assessment and name in ("score", "ci_lower", "ci_upper"):
        return "0", "100"
    return "", ""


def model_field(inst: Instrument, f: models.Field) -> Field:
    """The REDCap field of a model field (type, validation and choices from the model)."""
    name = f"{inst.prefix}{f.name}"
    label = str(f.verbose_name)[:1].upper() + str(f.verbose_name)[1:]
    required = not (f.blank or f.null) and not isinstance(f, models.BooleanField)
    common: dict[str, Any] = {
        "name": name,
        "form": inst.form,
        "label": label,
        "required": required,
        "identifier": f.name in _IDENTIFYING,
        "model_field": f.name,
        "note": str(f.help_text or ""),
    }
    if f.choices:
        return Field(ftype="dropdown", choices=_choices(f), **common)
    if isinstance(f, models.BooleanField):
        return Field(ftype="yesno", **common)
    if isinstance(f, models.DateField):
        return Field(ftype="text", validation="date_ymd", **common)
    if isinstance(f, (models.IntegerField,)):
        lo, hi = _bounds(inst.model, f.name)
        return Field(ftype="text", validation="integer", vmin=lo, vmax=hi, **common)
    if isinstance(f, (models.FloatField, models.DecimalField)):
        lo, hi = _bounds(inst.model, f.name)
        return Field(ftype="text", validation="number", vmin=lo, vmax=hi, **common)
    if isinstance(f, models.TextField):
        return Field(ftype="notes", **common)
    return Field(ftype="text", **common)


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("child", "Child", Patient, "", False, ("site", "study_id")),
    Instrument("classification", "GMFCS / MACS / CFCS", Classification, "cls_", True),
    Instrument("administration", "Cell administration", Administration, "adm_", True),
    Instrument("rehabilitation", "Rehabilitation", RehabEpisode, "rehab_", True),
    Instrument("gmfm88", "GMFM-88", GMFM88Assessment, "g88_", True, ("items", "assessor")),
    Instrument("gmfm66", "GMFM-66", GMFM66Assessment, "g66_", True, ("sheet",)),
    Instrument("spasticity", "Spasticity", SpasticityAssessment, "sp_", True, ("mas", "tardieu")),
    Instrument("lab", "Laboratory", LabValue, "lab_", True),
    Instrument("adverse_event", "Adverse event", AdverseEvent, "ae_", True, ("administration",)),
)


def _special(inst: Instrument) -> Iterator[Field]:
    """The fields that are not one model field each."""
    if inst.form == "child":
        yield Field(
            "record_id",
            "child",
            "text",
            "Study ID",
            identifier=True,
            required=True,
            note="the site's pseudonym, e.g. LUB-001; never a name",
            model_field="study_id",
        )
        yield Field(
            "site",
            "child",
            "text",
            "Site code",
            required=True,
            model_field="site",
            note="the registry site, e.g. LUB (or use REDCap data access groups)",
        )
    if inst.form == "administration":
        yield Field(
            "adm_dose_cells_per_kg_calc",
            "administration",
            "calc",
            "Dose (cells/kg)",
            choices="[adm_cells_total]/[adm_weight_kg]",
            note="computed by REDCap; cpstem recomputes it",
        )
    if inst.form == "gmfm88":
        items = (
            "0, 0 does not initiate | 1, 1 initiates | 2, 2 partially completes | "
            f"3, 3 completes | {NT}, NT not tested"
        )
        for item in gmfm.ITEMS:
            dim = gmfm.DIMENSIONS[item.dimension]
            section = f"{item.dimension}. {dim.name}" if item.number == dim.first_item else ""
            yield Field(
                f"g88_item_{item.number}",
                "gmfm88",
                "radio",
                f"{item.number}{'*' if item.in_gmfm66 else ''}. {item.title}",
                choices=items,
                section=section,
            )
    if inst.form == "spasticity":
        mas = " | ".join(f"{code}, {grade}" for grade, code in MAS_CODES.items())
        for m in MuscleGroup:
            for side, s in SIDES.items():
                yield Field(
                    f"sp_mas_{m.value}_{s}",
                    "spasticity",
                    "dropdown",
                    f"Modified Ashworth: {m.label}, {side}",
                    choices=mas,
                    section="Modified Ashworth Scale"
                    if (m, s) == (next(iter(MuscleGroup)), "l")
                    else "",
                )
        for m in MuscleGroup:
            for side, s in SIDES.items():
                first = (m, s) == (next(iter(MuscleGroup)), "l")
                for part, label, kind, lo, hi in (
                    ("r1", "R1 (catch angle, °)", "number", "-180", "180"),
                    ("r2", "R2 (full range, °)", "number", "-180", "180"),
                    ("x", "quality X (0-5)", "integer", "0", "5"),
                ):
                    yield Field(
                        f"sp_tar_{m.value}_{s}_{part}",
                        "spasticity",
                        "text",
                        f"Tardieu V3 {m.label}, {side}: {label}",
                        validation=kind,
                        vmin=lo,
                        vmax=hi,
                        section="Modified Tardieu Scale (velocity V3)"
                        if first and part == "r1"
                        else "",
                    )
    if inst.form == "adverse_event":
        yield Field(
            "ae_administration_date",
            "adverse_event",
            "text",
            "Date of the administration it followed",
            validation="date_ymd",
            note="default: the latest administration before onset",
            model_field="administration",
        )


@cache
def instruments() -> tuple[Instrument, ...]:
    out = []
    for inst in INSTRUMENTS:
        fields = list(_special(inst)) if inst.form == "child" else []
        for f in inst.model._meta.concrete_fields:
            if not f.editable or f.name in _COMMON_SKIP or f.name in inst.skip:
                continue
            fields.append(model_field(inst, f))
        if inst.form != "child":
            fields += list(_special(inst))
        out.append(
            Instrument(
                inst.form, inst.label, inst.model, inst.prefix, inst.repeating, inst.skip, fields
            )
        )
    return tuple(out)


def fields() -> list[Field]:
    return [f for inst in instruments() for f in inst.fields]


def dictionary_rows() -> list[list[str]]:
    return [list(COLUMNS)] + [f.row() for f in fields()]


# --- events ------------------------------------------------------------------------------
def unique_event_name(name: str, arm: int = 1) -> str:
    """REDCap's unique event name: lower case, non-alphanumerics as ``_``, then ``_arm_N``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:18] + f"_arm_{arm}"


ASSESSMENTS = ("classification", "gmfm88", "gmfm66", "spasticity", "lab")


@cache
def events() -> tuple[tuple[str, int, int, int, str], ...]:
    """(event_name, day_offset, offset_min, offset_max, unique_event_name) in order."""
    out = [("Enrolment", 0, 0, 0, unique_event_name("Enrolment"))]
    for rule in rules():
        name = "Baseline" if rule.months == 0 else f"Month {rule.months}"
        day = round(rule.months * 30.4375)
        out.append((name, day, rule.days_before, rule.days_after, unique_event_name(name)))
    out.append(("Unscheduled", 9999, 0, 0, unique_event_name("Unscheduled")))
    return tuple(out)


def event_rows() -> list[list[str]]:
    head = ["event_name", "arm_num", "day_offset", "offset_min", "offset_max", "unique_event_name"]
    return [head] + [[n, "1", str(d), str(lo), str(hi), u] for n, d, lo, hi, u in events()]


def mapping_rows() -> list[list[str]]:
    """The instrument-event mapping (REDCap ``arm_num, unique_event_name, form``)."""
    rows = [["arm_num", "unique_event_name", "form"]]
    for _, _, _, _, unique in events():
        if unique.startswith("enrolment"):
            forms = ["child", "classification", "administration", "rehabilitation", "adverse_event"]
        else:
            forms = list(ASSESSMENTS)
        rows += [["1", unique, f] for f in forms]
    return rows


def repeating_rows() -> list[list[str]]:
    """The repeating instruments per event (REDCap ``event_name, form_name, custom_form_label``)."""
    rows = [["event_name", "form_name", "custom_form_label"]]
    for arm, unique, form in mapping_rows()[1:]:
        del arm
        if form != "child":
            rows.append([unique, form, ""])
    return rows

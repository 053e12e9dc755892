"""Entry forms. Validation lives in the models (and the pure layers they call); forms add
widgets, unit choices and map every message to its field."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance

from cpstem.measures import gmfm
from cpstem.measures.spasticity import MAS, MuscleGroup, Side
from cpstem.outcomes import OutcomeError
from cpstem.outcomes.dose import parse_cell_count
from cpstem.registry.clock import today
from cpstem.registry.dose_display import dose_ranges_json
from cpstem.registry.errors import FieldErrors
from cpstem.registry.form_checks import ConfirmationMixin, TypedInputMixin
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
from cpstem.registry.models.patients import LEVELS, PATIENT_FIELDS
from cpstem.registry.models.treatment import Product
from cpstem.registry.services import write


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any):
        super().__init__(format="%Y-%m-%d", **kwargs)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        attrs = {**(attrs or {}), "max": today().isoformat()}
        return super().get_context(name, value, attrs)


class RecordForm(TypedInputMixin, ConfirmationMixin, forms.ModelForm):
    """A ModelForm validated by the registry's write path (:mod:`cpstem.registry.services.write`):
    the same checks, codes and fields as the API and the import.

    The model reports each error on the field it concerns. A form shows it on the form field of
    that name, or on the field named in :attr:`entry_fields` (a model field entered through a
    differently named form field), else above the form (a field the form does not show).
    The view saves through :func:`~cpstem.registry.services.write.save`, which validates again
    inside the transaction.
    """

    #: model field -> the form field through which it is entered
    entry_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.hide_confirmations()

    def _post_clean(self) -> None:
        opts = self._meta
        self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)
        skip = set(self._errors or ()) | {
            m for m, f in self.entry_fields.items() if f in self._errors
        }
        try:
            write.validate(self.instance, exclude=skip)
        except FieldErrors as exc:
            self.add_record_errors(exc)

    def add_record_errors(self, exc: FieldErrors) -> None:
        """Show the coded errors of the write path on this form (codes kept)."""
        for name, errors in exc.details.items():
            target = self.entry_fields.get(name, name)
            field = target if target in self.fields else None
            for e in errors:
                self.add_error(field, ValidationError(e.message, code=e.code))
                self.show_confirmation(e.code)


def _dates(*names: str) -> dict[str, forms.Widget]:
    return {n: DateInput() for n in names}


class PatientForm(RecordForm):
    #: read as a number so that the model can say "kilograms? enter grams" for 1.45 (an
    #: integer field would only say "enter a whole number")
    birth_weight_g = forms.FloatField(
        label="Birth weight (g)", required=False, widget=forms.NumberInput(attrs={"step": "any"})
    )

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        widgets = _dates("birth_date", "enrolment_date", "consent_date", "consent_withdrawn_date")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["group"].required = False  # not given: cells (the model's default)

    def clean_group(self) -> str:
        return self.cleaned_data.get("group") or Patient._meta.get_field("group").default


class ClassificationForm(RecordForm):
    class Meta:
        model = Classification
        fields = ["date", "system", "level"]
        widgets = _dates("date")


class AdministrationForm(RecordForm):
    entry_fields: ClassVar[dict[str, str]] = {"cells_total": "cell_count"}

    cell_count = forms.CharField(
        label="Cell count",
        help_text="e.g. 5e7, 5 x 10^7 or 50000000",
    )
    cell_count_unit = forms.ChoiceField(
        label="The count is",
        choices=[("total", "total cells"), ("per_kg", "cells per kg")],
        initial="total",
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Administration
        fields = [
            "date",
            "product",
            "product_other",
            "origin",
            "hla_match",
            "weight_kg",
            "dose_confirmed",
            "route",
            "route_other",
            "gcsf",
            "epo",
            "immunosuppression",
            "adjunct_other",
            "lot",
            "notes",
        ]
        widgets = _dates("date") | {"notes": forms.Textarea(attrs={"rows": 2})}

    field_order = [
        "date",
        "product",
        "product_other",
        "origin",
        "hla_match",
        "cell_count",
        "cell_count_unit",
        "weight_kg",
    ]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["cell_count"] = f"{self.instance.cells_total:g}"

    def dose_ranges_json(self) -> str:
        """The published dose range of each product, for the form's live dose line."""
        return dose_ranges_json()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text, weight = data.get("cell_count"), data.get("weight_kg")
        if text:
            try:
                count = parse_cell_count(text)
            except OutcomeError as exc:
                self.add_error("cell_count", ValidationError(exc.message, code=exc.code))
                return data
            unit = data.get("cell_count_unit")
            self.instance.dose_entered = unit
            if unit == "per_kg":
                self.instance.cells_total = count * weight if weight else None
            else:
                self.instance.cells_total = count
        return data


class RehabForm(RecordForm):
    class Meta:
        model = RehabEpisode
        fields = ["therapy", "therapy_other", "hours_per_week", "date", "end_date", "notes"]
        labels = {"date": "Start date"}
        widgets = _dates("date") | {
            "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }


SCORE_CHOICES = [("0", "0"), ("1", "1"), ("2", "2"), ("3", "3"), ("NT", "NT")]


class GMFM88Form(RecordForm):
    """88 items, 0/1/2/3/NT each (NT is not 0), grouped by dimension in the template."""

    class Meta:
        model = GMFM88Assessment
        fields = [
            "date",
            "with_aids",
            "blinded_assessor",
            "goal_dimensions",
            "notes",
            "duplicate_confirmed",
        ]
        widgets = _dates("date") | {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        saved = self.instance.items or {}
        for item in gmfm.ITEMS:
            value = saved.get(str(item.number))
            # The score is checked by the model (the GMFM scorer), as for the API and the import:
            # the radio buttons offer the allowed values, the field does not copy the rule.
            self.fields[f"item_{item.number}"] = forms.CharField(
                label=f"{item.number}. {item.title}",
                initial="NT" if value is None else str(value),
                widget=forms.RadioSelect(
                    choices=SCORE_CHOICES,
                    attrs={"class": "score", "data-dim": item.dimension},
                ),
            )

    def dimensions(self) -> list[dict[str, Any]]:
        """Items grouped by dimension for the template."""
        return [
            {
                "code": code,
                "dim": dim,
                "fields": [self[f"item_{n}"] for n in dim.item_numbers],
            }
            for code, dim in gmfm.DIMENSIONS.items()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.instance.items = {
            str(i.number): data.get(f"item_{i.number}", "NT") for i in gmfm.ITEMS
        }
        return data


class GMFM66Form(RecordForm):
    class Meta:
        model = GMFM66Assessment
        fields = [
            "date",
            "score",
            "se",
            "ci_lower",
            "ci_upper",
            "blinded_assessor",
            "notes",
            "duplicate_confirmed",
        ]
        widgets = _dates("date") | {"notes": forms.Textarea(attrs={"rows": 2})}


MAS_CHOICES = [("", "-")] + [(g.value, g.value) for g in MAS]


class SpasticityForm(RecordForm):
    """A Modified Ashworth grid (muscle x side) and up to six Tardieu rows."""

    TARDIEU_ROWS = 6

    class Meta:
        model = SpasticityAssessment
        fields = ["date", "blinded_assessor", "notes", "duplicate_confirmed"]
        widgets = _dates("date") | {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        mas = {(r["muscle"], r["side"]): r["grade"] for r in (self.instance.mas or [])}
        for m in MuscleGroup:
            for s in Side:
                self.fields[f"mas_{m.value}_{s.value}"] = forms.ChoiceField(
                    label=f"{m.label} {s.value}",
                    choices=MAS_CHOICES,
                    required=False,
                    initial=mas.get((m.value, s.value), ""),
                )
        muscles = [("", "-"), *MuscleGroup.choices()]
        rows = list(self.instance.tardieu or [])
        for i in range(self.TARDIEU_ROWS):
            row = rows[i] if i < len(rows) else {}
            self.fields[f"t{i}_muscle"] = forms.ChoiceField(
                choices=muscles, required=False, initial=row.get("muscle", ""), label="Muscle"
            )
            self.fields[f"t{i}_side"] = forms.ChoiceField(
                choices=[("left", "left"), ("right", "right")],
                required=False,
                initial=row.get("side", "left"),
                label="Side",
            )
            self.fields[f"t{i}_r1"] = forms.FloatField(
                required=False, initial=row.get("r1_deg"), label="R1 (°)"
            )
            self.fields[f"t{i}_r2"] = forms.FloatField(
                required=False, initial=row.get("r2_deg"), label="R2 (°)"
            )
            self.fields[f"t{i}_quality"] = forms.IntegerField(
                required=False, initial=row.get("quality"), label="X"
            )

    def mas_rows(self) -> list[dict[str, Any]]:
        return [
            {"muscle": m, "cells": [self[f"mas_{m.value}_{s.value}"] for s in Side]}
            for m in MuscleGroup
        ]

    def tardieu_rows(self) -> list[list]:
        return [
            [self[f"t{i}_{k}"] for k in ("muscle", "side", "r1", "r2", "quality")]
            for i in range(self.TARDIEU_ROWS)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self.instance.mas = [
            {"muscle": m.value, "side": s.value, "grade": data[f"mas_{m.value}_{s.value}"]}
            for m in MuscleGroup
            for s in Side
            if data.get(f"mas_{m.value}_{s.value}")
        ]
        self.instance.tardieu = [
            {
                "muscle": data[f"t{i}_muscle"],
                "side": data.get(f"t{i}_side") or "left",
                "r1_deg": data.get(f"t{i}_r1"),
                "r2_deg": data.get(f"t{i}_r2"),
                "quality": data.get(f"t{i}_quality"),
            }
            for i in range(self.TARDIEU_ROWS)
            if data.get(f"t{i}_muscle")
        ]
        return data


class LabForm(RecordForm):
    class Meta:
        model = LabValue
        fields = ["date", "analyte", "value", "unit", "notes"]
        widgets = _dates("date") | {"notes": forms.Textarea(attrs={"rows": 2})}


class AdverseEventForm(RecordForm):
    class Meta:
        model = AdverseEvent
        fields = [
            "term",
            "date",
            "resolution_date",
            "grade",
            "serious",
            "relatedness",
            "administration",
            "action",
            "outcome",
            "notes",
            "relatedness_confirmed",
        ]
        labels = {"date": "Onset date"}
        widgets = _dates("date", "resolution_date") | {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["administration"].queryset = Administration.objects.filter(
            patient_id=self.instance.patient_id
        )
        self.fields["outcome"].required = False
        outcome = self.fields["outcome"]
        outcome.choices = [  # type: ignore[attr-defined]
            ("", "not given: unknown (recovered if a resolution date is given)"),
            *[c for c in outcome.choices if c[0]],  # type: ignore[attr-defined]
        ]


class PatientFilterForm(forms.Form):
    """The patient list's filters (query string). A value that is not valid (a NUL character, a
    level that is not I-V, ...) is ignored and named on the page, never a server error."""

    q = forms.CharField(required=False, max_length=40)
    site = forms.CharField(required=False, max_length=16)
    gmfcs = forms.TypedChoiceField(
        required=False,
        choices=[("", "all"), *((str(v), r) for v, r in LEVELS)],
        coerce=int,
        empty_value=None,
    )
    product = forms.ChoiceField(required=False, choices=[("", "all"), *Product.choices])
    overdue = forms.BooleanField(required=False)

    def filters(self) -> dict[str, Any]:
        """The valid filters (invalid ones dropped)."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}


class DashboardForm(forms.Form):
    """The dashboard's visit (months after the first administration)."""

    months = forms.IntegerField(required=False, min_value=0, max_value=1200)

    def months_or(self, default: int = 12) -> int:
        self.is_valid()
        value = self.cleaned_data.get("months")
        return default if value is None else value

"""Forms: unit conversion, messages on the right field, grids built from the catalogues."""

from __future__ import annotations

from datetime import date

import pytest

from cpstem.registry import forms
from cpstem.registry.models import Administration, GMFM88Assessment, SpasticityAssessment

pytestmark = pytest.mark.django_db

ADMIN = {
    "date": "2023-03-01",
    "product": "bm_msc",
    "origin": "autologous",
    "route": "intrathecal",
    "weight_kg": "20",
}


def test_administration_per_kg_and_total(patient):
    f = forms.AdministrationForm(
        ADMIN | {"cell_count": "1 x 10^6", "cell_count_unit": "per_kg"},
        instance=Administration(patient=patient),
    )
    assert f.is_valid(), f.errors
    assert f.instance.cells_total == pytest.approx(
        2e7
    ) and f.instance.dose_cells_per_kg == pytest.approx(1e6)
    f = forms.AdministrationForm(
        ADMIN | {"cell_count": "2e7", "cell_count_unit": "total"},
        instance=Administration(patient=patient),
    )
    assert f.is_valid() and f.instance.dose_cells_per_kg == pytest.approx(1e6)


def test_administration_messages_land_on_the_cell_count(patient):
    f = forms.AdministrationForm(
        ADMIN | {"cell_count": "1e6", "cell_count_unit": "total"},
        instance=Administration(patient=patient),
    )
    assert not f.is_valid()
    assert "if the number was per kg" in f.errors["cell_count"][0]
    f = forms.AdministrationForm(
        ADMIN | {"cell_count": "many", "cell_count_unit": "total"},
        instance=Administration(patient=patient),
    )
    assert not f.is_valid() and "not a number of cells" in f.errors["cell_count"][0]


def test_gmfm88_form_has_88_items_grouped(patient):
    f = forms.GMFM88Form(instance=GMFM88Assessment(patient=patient))
    dims = f.dimensions()
    assert [d["code"] for d in dims] == list("ABCDE")
    assert [len(d["fields"]) for d in dims] == [17, 20, 14, 13, 24]
    assert f.fields["item_1"].initial == "NT"


def test_gmfm88_form_keeps_nt_distinct_from_zero(patient):
    data = {f"item_{n}": "NT" for n in range(1, 89)} | {
        "item_5": "0",
        "item_6": "3",
        "date": "2024-01-01",
    }
    f = forms.GMFM88Form(data, instance=GMFM88Assessment(patient=patient))
    assert f.is_valid(), f.errors
    sheet = f.save()
    assert sheet.items["5"] == 0 and sheet.items["4"] is None and sheet.n_not_tested == 86


def test_gmfm88_form_rejects_unknown_score(patient):
    data = {f"item_{n}": "NT" for n in range(1, 89)} | {"item_5": "4", "date": "2024-01-01"}
    f = forms.GMFM88Form(data, instance=GMFM88Assessment(patient=patient))
    assert not f.is_valid() and "item_5" in f.errors


def test_spasticity_form_grid(patient):
    data = {
        "date": "2024-01-01",
        "mas_hamstrings_left": "1+",
        "t0_muscle": "gastrocnemius_soleus",
        "t0_side": "right",
        "t0_r1": "-10",
        "t0_r2": "10",
        "t0_quality": "2",
    }
    f = forms.SpasticityForm(data, instance=SpasticityAssessment(patient=patient))
    assert f.is_valid(), f.errors
    s = f.save()
    assert s.mas == [{"muscle": "hamstrings", "side": "left", "grade": "1+"}]
    assert s.tardieu[0]["r1_deg"] == -10 and s.tardieu[0]["quality"] == 2
    f = forms.SpasticityForm(
        {"date": "2024-01-01", "t0_muscle": "hamstrings", "t0_r1": "20", "t0_r2": "10"},
        instance=SpasticityAssessment(patient=patient),
    )
    assert not f.is_valid() and "R1 <= R2" in " ".join(f.non_field_errors())


def test_no_records_after_consent_withdrawal(patient):
    patient.consent_date, patient.consent_version, patient.consent_withdrawn_date = (
        date(2020, 1, 1),
        "1",
        date(2023, 6, 1),
    )
    patient.save()
    f = forms.GMFM66Form(
        {"date": "2023-07-01", "score": "40"},
        instance=patient.gmfm66assessment_set.model(patient=patient),
    )
    assert not f.is_valid() and "consent was withdrawn on 2023-06-01" in f.errors["date"][0]

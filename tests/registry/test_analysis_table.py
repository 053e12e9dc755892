"""The registry's analysis tables (``cpstem export --analysis``) and the enrolment group.

Expected changes are worked by hand from the documented stable-limit formula of the
configured curves (rosenbaum2002: GMFCS II limit 68.4, age90 4.4 y; III 54.3, 3.7 y):
``f(a) = 1 - 10^(-a / age90)``, population change ``limit (f(a1) - f(a0))``, child-anchored
``baseline / f(a0) (f(a1) - f(a0))``, ages in days / 365.2425.
Child T: a0 = 1856 / 365.2425 = 5.08156 y; at 2024-11-02 (a1 = 2041 d) population 1.11487,
anchored 0.70104; at 2025-05-02 (a1 = 2222 d) population 1.95395, anchored 1.22867; months since
2024-05-02: 184 d / 30.436875 = 6.04530 and 365 d -> 11.99203.
Child C: a0 = 1497 d = 4.09865 y, a1 = 1874 d: population 2.00811, anchored 1.40391; months
since enrolment 2024-03-01: 367 d -> 12.05774; baseline 2024-02-20: -9 d -> -0.32855 (<= 0).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from django.urls import reverse

from cpstem.outcomes.ipd import COLUMNS
from cpstem.registry import exporter
from cpstem.registry.errors import FieldErrors, RegistryError
from cpstem.registry.models import Administration, FollowUpVisit
from cpstem.registry.services import analysis, write
from tests.registry.ipd_helpers import hand_cohort

pytestmark = pytest.mark.django_db


def test_analysis_table_hand_worked(sites):
    t, c = hand_cohort(sites)
    data = analysis.build()
    table = data.table.set_index(["child", "months"]).sort_index()
    assert list(data.table.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert len(data.table) == 5 and data.skipped == ()
    rows = data.table[data.table["child"] == t.research_id].sort_values("months")
    assert rows["months"].tolist() == pytest.approx([-1 / 30.436875, 6.04530, 11.99203], abs=1e-4)
    assert set(rows["group"]) == {"cells"} and set(rows["product"]) == {"ucb"}
    assert set(rows["route"]) == {"intravenous"} and set(rows["site"]) == {"LUB"}
    assert rows["dose_cells_per_kg"].tolist() == pytest.approx([3e7] * 3)
    # cumulative: one administration at baseline (dated the day before: none yet), two later
    assert rows["dose_cells_per_kg_cumulative"].isna().tolist() == [True, False, False]
    assert rows["dose_cells_per_kg_cumulative"].iloc[1:].tolist() == pytest.approx([6e7, 6e7])
    assert set(rows["gmfcs"]) == {2} and set(rows["gmfm66_baseline"]) == {40.0}
    assert rows["age_baseline_years"].iloc[0] == pytest.approx(5.0816, abs=1e-4)
    assert rows["gmfm66"].tolist() == [40.0, 45.0, 48.0]
    assert rows["gmfm66_se"].tolist() == [1.5, 1.6, 1.4]
    assert rows["expected_change_population"].tolist() == pytest.approx(
        [0.0, 1.114867, 1.953947], abs=1e-5
    )
    assert rows["expected_change_anchored"].tolist() == pytest.approx(
        [0.0, 0.701042, 1.228666], abs=1e-5
    )
    assert rows["excess_population"].tolist() == pytest.approx(
        [0.0, 5 - 1.114867, 8 - 1.953947], abs=1e-5
    )
    assert rows["excess_anchored"].tolist() == pytest.approx(
        [0.0, 5 - 0.701042, 8 - 1.228666], abs=1e-5
    )
    ctrl = data.table[data.table["child"] == c.research_id].sort_values("months")
    assert ctrl["months"].tolist() == pytest.approx([-0.32855, 12.05774], abs=1e-4)
    assert set(ctrl["group"]) == {"control"} and set(ctrl["product"]) == {""}
    assert ctrl["dose_cells_per_kg"].isna().all() and set(ctrl["gmfcs"]) == {3}
    assert ctrl["excess_population"].iloc[1] == pytest.approx(3 - 2.008109, abs=1e-5)
    assert ctrl["excess_anchored"].iloc[1] == pytest.approx(3 - 1.403907, abs=1e-5)
    assert not table.empty
    # spasticity: MAS 2 -> ordinal 3, 1+ -> ordinal 2
    sp = data.spasticity
    assert sp[["muscle", "side", "mas", "mas_label"]].values.tolist() == [
        ["hamstrings", "left", 3, "2"],
        ["hamstrings", "left", 2, "1+"],
    ]
    assert sp["months"].tolist() == pytest.approx([-1 / 30.436875, 6.04530], abs=1e-4)
    assert data.labs[["analyte", "unit", "value"]].values.tolist() == [
        ["IL-6", "pg/mL", 8.0],
        ["IL-6", "pg/mL", 4.0],
    ]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_analysis_is_pseudonymised(sites, tmp_path, suffix):
    t, c = hand_cohort(sites)
    out = tmp_path / f"analysis{suffix}"
    written = exporter.write_analysis(out)
    assert {k: v[1] for k, v in written.items()} == {"analysis": 5, "spasticity": 2, "labs": 2}
    assert written["spasticity"][0] == tmp_path / f"analysis-spasticity{suffix}"
    read = pd.read_parquet if suffix == ".parquet" else pd.read_csv
    table = read(out)
    assert list(table.columns) == [
        *COLUMNS,
        "dose_cells_per_kg_cumulative",
        "synthetic",
        "blinded_assessor",
    ]
    assert set(table["child"]) == {t.research_id, c.research_id}
    frames = [table, read(written["spasticity"][0]), read(written["labs"][0])]
    text = " ".join(f.to_csv(index=False) for f in frames)
    if suffix == ".csv":
        text += " ".join(p.read_text() for p, _ in written.values())
    # no study ID, no calendar date, no free text, no database key
    for leak in ("LUB-001", "KRK-007", "2024-", "2025-", "2019", "Anna", "Kowalski", "free text"):
        assert leak not in text
    assert str(t.pk) not in text and str(c.pk) not in text


def test_export_analysis_refuses_other_suffix(tmp_path):
    with pytest.raises(RegistryError) as exc:
        exporter.write_analysis(tmp_path / "a.xlsx")
    assert exc.value.code == "invalid_choice"


def test_control_schedule_runs_from_enrolment(sites):
    _, c = hand_cohort(sites)
    visits = {v.label: v for v in FollowUpVisit.objects.filter(patient=c)}
    assert all(v.administration_id is None for v in visits.values())
    assert visits["baseline"].target_date == date(2024, 3, 1)
    assert visits["baseline"].done_on == date(2024, 2, 20)
    assert visits["12 months"].target_date == date(2025, 3, 1)
    assert visits["12 months"].done_on == date(2025, 3, 3)
    # moving the enrolment date moves the schedule
    c.enrolment_date = date(2024, 4, 1)
    write.save(c, reason="enrolment date corrected")
    assert FollowUpVisit.objects.get(patient=c, label="12 months").target_date == date(2025, 4, 1)


def test_control_rules(sites):
    t, c = hand_cohort(sites)
    with pytest.raises(FieldErrors) as exc:
        write.save(
            Administration(
                patient=c,
                date=date(2024, 5, 2),
                product="ucb",
                origin="allogeneic",
                route="intravenous",
                cells_total=6e8,
                weight_kg=20,
                dose_confirmed=True,
            )
        )
    assert exc.value.codes == {"__all__": ["control_group"]}
    t.group = "control"
    t.enrolment_date = None
    with pytest.raises(FieldErrors) as exc:
        write.save(t, reason="enrolment group corrected")
    assert exc.value.codes == {
        "enrolment_date": ["required"],
        "group": ["control_has_administrations"],
    }


def test_api_and_form_take_the_group(api, web, sites):
    r = api("clin").post(
        "/patients",
        {
            "study_id": "LUB-900",
            "birth_date": "2020-01-15",
            "sex": "M",
            "group": "control",
            "enrolment_date": "2024-03-01",
        },
    )
    assert r.status_code == 201, r.content
    got = api("clin").get(f"/patients/{r.json()['id']}").json()
    assert got["group"] == "control"
    r = api("clin").post(
        "/patients",
        {"study_id": "LUB-901", "birth_date": "2020-01-15", "sex": "M", "group": "control"},
    )
    assert r.status_code == 422 and r.json()["codes"] == {"enrolment_date": ["required"]}
    page = web("clin").get(reverse("registry:patient_new"))
    assert b'name="group"' in page.content and b'name="enrolment_date"' in page.content

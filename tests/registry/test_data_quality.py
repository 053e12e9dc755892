"""The data-quality rules: each fires on a hand-made case and stays quiet on its near miss;
after a save the form and the API answer carry the findings; the batch (``cpstem check``, the
page, ``GET /checks``) lists them per site within the caller's sites.

The schedule is the default one (outcomes/data/schedule.toml): an administration on 2024-01-10
has the baseline window 2023-12-11 .. 2024-01-10 (30 days before), the 3-month visit on
2024-04-10 with the window 2024-03-27 .. 2024-04-24 (14 days each side) and the 6-month visit
on 2024-07-10 with the window 2024-06-10 .. 2024-08-09 (30 days each side).
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    GMFM66Assessment,
    LabValue,
    Patient,
)
from cpstem.registry.services import data_quality, write

pytestmark = pytest.mark.django_db

DAY = date(2024, 1, 10)


def _admin(patient: Patient, weight: float = 15.0, cells: float = 4.5e8) -> Administration:
    """4.5e8 cells at 15 kg: 3.0e7 cells/kg."""
    return write.save(
        Administration(
            patient=patient,
            date=DAY,
            product="ucb",
            origin="allogeneic",
            route="intravenous",
            cells_total=cells,
            weight_kg=weight,
        )
    )


def _g66(patient: Patient, day: date) -> GMFM66Assessment:
    return write.save(GMFM66Assessment(patient=patient, date=day, score=45.0))


def _weight(patient: Patient, day: date, kg: float) -> LabValue:
    return write.save(LabValue(patient=patient, date=day, analyte="Weight", value=kg, unit="kg"))


def _rules(patient: Patient, rule: str, on: date | None = None) -> list[data_quality.Finding]:
    return [f for f in data_quality.check_patient(patient, on=on) if f.rule == rule]


def test_every_rule_is_registered_with_its_explanation_and_source():
    assert list(data_quality.RULES) == [
        "gmfm_window",
        "dose_weight",
        "baseline_gmfm66",
        "ae_outcome",
        "gmfcs_jump",
        "subtype_topography",
    ]
    for r in data_quality.RULES.values():
        d = r.to_dict()
        assert d["title"] and d["why"] and d["fix"] and d["source"], r.id


# (a) a GMFM outside its visit window


def test_gmfm_between_two_windows_is_found(patient):
    _admin(patient)
    _g66(patient, date(2024, 1, 2))  # baseline
    late = _g66(patient, date(2024, 5, 20))  # after the 3-month window, before the 6-month one
    (f,) = _rules(patient, "gmfm_window")
    assert f.record_id == late.pk and f.date == date(2024, 5, 20)
    assert "nearest visit, 3 months (target 2024-04-10)" in f.message
    assert "2024-03-27 to 2024-04-24" in f.message


def test_gmfm_inside_its_window_is_not_found(patient):
    _admin(patient)
    _g66(patient, date(2024, 1, 2))
    _g66(patient, date(2024, 4, 24))  # the last day of the 3-month window
    assert _rules(patient, "gmfm_window") == []


# (b) dose per kg against the weight recorded nearest that date


def test_dose_with_a_weight_unlike_the_nearest_one_is_found(patient):
    admin = _admin(patient)
    _weight(patient, date(2023, 12, 1), 15.0)  # 40 days before: too far to compare
    _weight(patient, date(2024, 1, 5), 18.0)  # 4.5e8 / 18 = 2.5e7 cells/kg: -16.7 %
    (f,) = _rules(patient, "dose_weight")
    assert f.record_id == admin.pk
    assert "dose 3e+07 cells/kg computed with 15 kg" in f.message
    assert "18 kg" in f.message and "2.5e+07 cells/kg (-17%" in f.message


def test_dose_within_the_tolerance_is_not_found(patient):
    _admin(patient)
    _weight(patient, date(2024, 1, 5), 15.5)  # 2.90e7 cells/kg: -3.2 %
    _weight(patient, date(2023, 11, 1), 30.0)  # 70 days before: not compared
    assert _rules(patient, "dose_weight") == []


# (c) missing baseline GMFM-66


def test_administration_without_baseline_gmfm66_is_found(patient):
    admin = _admin(patient)
    _g66(patient, date(2023, 12, 10))  # 31 days before: outside the baseline window
    (f,) = _rules(patient, "baseline_gmfm66")
    assert f.record_id == admin.pk
    assert "no GMFM-66 between 2023-12-11 and the administration on 2024-01-10" in f.message


def test_baseline_gmfm66_in_the_window_is_not_found(patient):
    _admin(patient)
    _g66(patient, date(2023, 12, 11))  # the first day of the baseline window
    assert _rules(patient, "baseline_gmfm66") == []


# (d) an adverse event without outcome 90 days after onset


def _ae(patient: Patient, **kw) -> AdverseEvent:
    return write.save(
        AdverseEvent(
            patient=patient,
            date=date(2024, 1, 12),
            term="fever",
            grade=1,
            relatedness="not_related",
            **kw,
        )
    )


def test_adverse_event_without_outcome_after_90_days_is_found(patient):
    ae = _ae(patient)  # outcome left blank: stored as "unknown"
    (f,) = _rules(patient, "ae_outcome", on=date(2024, 4, 12))  # 19 + 29 + 31 + 12 = 91 days
    assert f.record_id == ae.pk and "no outcome 91 days after onset" in f.message


def test_adverse_event_within_90_days_or_with_outcome_is_not_found(patient):
    _ae(patient)
    assert _rules(patient, "ae_outcome", on=date(2024, 4, 10)) == []  # 89 days
    _ae(patient, outcome="recovering", notes="second")
    found = _rules(patient, "ae_outcome", on=date(2024, 4, 12))
    assert [f.message for f in found if "recovering" in f.message] == []
    assert len(found) == 1  # only the one without outcome


# (e) GMFCS jumps of more than one level


def test_gmfcs_jump_of_two_levels_is_found(patient):
    write.save(Classification(patient=patient, date=date(2023, 1, 10), system="gmfcs", level=2))
    c = write.save(Classification(patient=patient, date=date(2023, 6, 10), system="gmfcs", level=4))
    (f,) = _rules(patient, "gmfcs_jump")
    assert f.record_id == c.pk
    assert f.message == (
        "GMFCS 2 on 2023-01-10 then 4 on 2023-06-10: a change of 2 levels (at most 1 expected)"
    )


def test_one_level_steps_and_other_systems_are_not_found(patient):
    for day, level in ((date(2023, 1, 10), 2), (date(2023, 6, 10), 3), (date(2024, 1, 10), 2)):
        write.save(Classification(patient=patient, date=day, system="gmfcs", level=level))
    write.save(Classification(patient=patient, date=date(2023, 1, 10), system="macs", level=1))
    write.save(Classification(patient=patient, date=date(2023, 6, 10), system="macs", level=4))
    assert _rules(patient, "gmfcs_jump") == []


# (f) CP subtype and topography (SCPE: spastic unilateral = hemiplegia; bilateral = diplegia,
# tetraplegia)


def _classify(patient: Patient, subtype: str, topography: str) -> None:
    patient.subtype, patient.topography = subtype, topography
    write.save(patient, reason="classified")


def test_spastic_unilateral_with_a_bilateral_topography_is_found(patient):
    _classify(patient, "spastic_unilateral", "diplegia")
    (f,) = _rules(patient, "subtype_topography")
    assert (f.record, f.record_id, f.date) == ("patient", patient.pk, None)
    assert f.message == (
        "subtype Spastic unilateral (US-CP) is unilateral, but the topography "
        "Diplegia (bilateral, legs more than arms) is bilateral"
    )


def test_spastic_bilateral_with_hemiplegia_is_found(patient):
    _classify(patient, "spastic_bilateral", "hemiplegia")
    assert len(_rules(patient, "subtype_topography")) == 1


@pytest.mark.parametrize(
    ("subtype", "topography"),
    [
        ("spastic_unilateral", "hemiplegia"),
        ("spastic_unilateral", "monoplegia"),
        ("spastic_bilateral", "diplegia"),
        ("spastic_bilateral", "triplegia"),
        ("spastic_bilateral", "tetraplegia"),
        ("dyskinetic_dystonic", "tetraplegia"),  # no laterality required of non-spastic CP
        ("ataxic", "hemiplegia"),
        ("spastic_unilateral", ""),  # one of the two not recorded: nothing to compare
        ("", "diplegia"),
    ],
)
def test_agreeing_or_incomplete_subtype_and_topography_are_not_found(patient, subtype, topography):
    _classify(patient, subtype, topography)
    assert _rules(patient, "subtype_topography") == []


# --- on save: form and API -------------------------------------------------------------------


def test_form_shows_the_findings_as_warnings_after_a_save(web, patient):
    write.save(Classification(patient=patient, date=date(2023, 1, 10), system="gmfcs", level=1))
    r = web("clin").post(
        f"/patients/{patient.pk}/classification/new/",
        {"date": "2023-06-10", "system": "gmfcs", "level": "4"},
        follow=True,
    )
    assert r.status_code == 200
    shown = [str(m) for m in r.context["messages"]]
    assert any("Classification jumps more than one GMFCS level" in m for m in shown), shown
    assert 'id="quality-banner"' in r.content.decode()


def test_api_answer_of_a_write_includes_the_findings(api, patient):
    write.save(Classification(patient=patient, date=date(2023, 1, 10), system="gmfcs", level=1))
    r = api("clin").post(
        f"/patients/{patient.pk}/classifications",
        {"date": "2023-06-10", "system": "gmfcs", "level": "IV"},
    )
    assert r.status_code == 201, r.content
    (f,) = r.json()["data_quality"]
    assert f["rule"] == "gmfcs_jump" and f["study_id"] == "LUB-001"
    rid = r.json()["id"]
    r = api("clin").patch(
        f"/patients/{patient.pk}/classifications/{rid}", {"level": "II", "reason": "typo"}
    )
    assert r.status_code == 200 and r.json()["data_quality"] == []
    assert (
        api("clin").get(f"/patients/{patient.pk}/classifications/{rid}").json()["data_quality"]
        is None
    )


# --- batch: API, page, roles and sites -------------------------------------------------------


def _jump(patient: Patient) -> None:
    write.save(Classification(patient=patient, date=date(2023, 1, 10), system="gmfcs", level=1))
    write.save(Classification(patient=patient, date=date(2023, 6, 10), system="gmfcs", level=5))


def test_checks_api_and_page_keep_to_the_callers_sites(api, web, patient, sites):
    other = write.save(
        Patient(site=sites[1], study_id="KRK-001", birth_date=date(2019, 1, 1), sex="M")
    )
    _jump(patient)
    _jump(other)
    sites_of = lambda role: {f["site"] for f in api(role).get("/checks").json()["findings"]}  # noqa: E731
    assert sites_of("admin") == {"LUB", "KRK"}
    assert sites_of("monitor") == {"LUB"}
    assert sites_of("clin_b") == {"KRK"}
    assert api("researcher").get("/checks").status_code == 403
    body = api("admin").get("/checks?site=KRK").json()
    assert [f["study_id"] for f in body["findings"]] == ["KRK-001"]
    assert len(body["rules"]) == 6
    assert api("admin").get("/checks?sit=KRK").status_code == 422
    html = web("monitor").get("/quality/").content.decode()
    assert "LUB-001" in html and "KRK-001" not in html and "Why it matters" in html
    assert web("researcher").get("/quality/").status_code == 403


def test_cli_check_exit_codes_and_formats(registry):
    r = registry.run("check", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    registry.run(
        "user", "create", "x", "--role", "admin", "--password-stdin", stdin="pw-123456789x"
    )
    registry.python(
        """
from datetime import date
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry import users
from cpstem.registry.models import Classification, Patient
from cpstem.registry.services import write
site = users.get_site("LUB", create=True, name="Lublin")
users.get_site("KRK", create=True, name="Krakow")
p = write.save(Patient(site=site, study_id="LUB-7", birth_date=date(2019, 1, 1), sex="F"))
write.save(Classification(patient=p, date=date(2023, 1, 10), system="gmfcs", level=1))
write.save(Classification(patient=p, date=date(2023, 6, 10), system="gmfcs", level=3))
"""
    )
    r = registry.run("check", "--format", "json", check=False)
    assert r.returncode == 1
    body = json.loads(r.stdout)
    (f,) = body["findings"]
    assert (f["study_id"], f["rule"], f["date"]) == ("LUB-7", "gmfcs_jump", "2023-06-10")
    r = registry.run("check", "--format", "csv", check=False)
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 1 and lines[0] == "site,study_id,rule,record,record_id,date,message"
    assert lines[1].startswith("LUB,LUB-7,gmfcs_jump,classification,")
    r = registry.run("check", "--site", "LUB", check=False)
    assert r.returncode == 1 and "gmfcs_jump" in r.stdout and "LUB-7" in r.stdout
    assert registry.run("check", "--site", "KRK", check=False).returncode == 0
    assert registry.run("check", "--site", "NOPE", check=False).returncode == 2

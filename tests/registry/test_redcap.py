"""REDCap: data dictionary and events of cpstem's instruments; records export and import."""

from __future__ import annotations

import csv
import json

import pytest

from cpstem.registry import privacy
from cpstem.registry.fhir.export import patient_bundle
from cpstem.registry.models import Patient
from cpstem.registry.redcap import dictionary
from cpstem.registry.redcap.records import (
    RedcapError,
    RedcapImportError,
    check_dictionary,
    export_rows,
    import_rows,
    read_rows,
    write_csv,
    write_json,
)
from tests.registry.fhir_helpers import normalise, rich_patient

pytestmark = pytest.mark.django_db


def test_dictionary_has_the_18_columns_and_contiguous_forms():
    rows = dictionary.dictionary_rows()
    assert len(rows[0]) == 18
    assert rows[0][0] == "Variable / Field Name" and rows[0][17] == "Field Annotation"
    assert rows[1][:2] == ["record_id", "child"]  # the record ID is the first field
    forms = [r[1] for r in rows[1:]]
    seen: list[str] = []
    for f in forms:
        if not seen or seen[-1] != f:
            assert f not in seen, f"form {f} is not contiguous"
            seen.append(f)
    assert seen == [
        "child",
        "classification",
        "administration",
        "rehabilitation",
        "gmfm88",
        "gmfm66",
        "spasticity",
        "lab",
        "adverse_event",
    ]
    by_name = {r[0]: r for r in rows[1:]}
    assert len({r[0] for r in rows[1:]}) == len(rows) - 1  # unique variable names
    assert sum(n.startswith("g88_item_") for n in by_name) == 88
    assert by_name["g88_item_1"][3] == "radio"
    assert by_name["g88_item_1"][5] == (
        "0, 0 does not initiate | 1, 1 initiates | 2, 2 partially completes | "
        "3, 3 completes | 9, NT not tested"
    )
    assert by_name["g88_item_1"][2] == "A. Lying & rolling"  # section header per dimension
    assert by_name["birth_date"][7] == "date_ymd" and by_name["birth_date"][10] == "y"
    assert by_name["birth_weight_g"][7:10] == ["integer", "200", "7000"]
    assert by_name["g66_score"][7:10] == ["number", "0", "100"]
    assert by_name["cls_level"][5] == "1, I | 2, II | 3, III | 4, IV | 5, V"
    assert by_name["sp_mas_hamstrings_l"][5] == "0, 0 | 1, 1 | 1p, 1+ | 2, 2 | 3, 3 | 4, 4"
    assert by_name["adm_dose_cells_per_kg_calc"][3:6] == [
        "calc",
        "Dose (cells/kg)",
        "[adm_cells_total]/[adm_weight_kg]",
    ]


def test_events_follow_the_schedule():
    events = dictionary.event_rows()
    assert events[0] == [
        "event_name",
        "arm_num",
        "day_offset",
        "offset_min",
        "offset_max",
        "unique_event_name",
    ]
    names = [e[5] for e in events[1:]]
    assert names == [
        "enrolment_arm_1",
        "baseline_arm_1",
        "month_1_arm_1",
        "month_3_arm_1",
        "month_6_arm_1",
        "month_12_arm_1",
        "month_24_arm_1",
        "unscheduled_arm_1",
    ]
    # 12 months: day 365 (12 x 30.4375 = 365.25), window 30 days either side (schedule.toml)
    assert events[6][1:5] == ["1", "365", "30", "30"]
    mapping = dictionary.mapping_rows()
    assert ["1", "enrolment_arm_1", "child"] in mapping
    assert ["1", "month_12_arm_1", "gmfm88"] in mapping
    assert ["1", "month_12_arm_1", "child"] not in mapping


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_round_trip_export_import_gives_identical_records(sites, people, tmp_path, fmt):
    child = rich_patient(sites[0])
    clin = privacy.project(people["clin"])
    before = patient_bundle(child, clin)
    out = tmp_path / f"records.{fmt}"
    rows = export_rows([child])
    (write_csv if fmt == "csv" else write_json)(rows, out)
    dict_path = tmp_path / "dict.csv"
    with dict_path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(dictionary.dictionary_rows())
    check_dictionary(dict_path)
    Patient.objects.filter(pk=child.pk).delete()
    summary = import_rows(read_rows(out))
    assert str(summary).startswith("1 record imported")
    (again,) = Patient.objects.filter(study_id="LUB-FHIR-1")
    assert normalise(patient_bundle(again, clin)) == normalise(before)


def test_assessments_land_in_the_visit_event(sites):
    child = rich_patient(sites[0])
    rows = export_rows([child])
    events = {(r["redcap_repeat_instrument"], r["g66_date"]): r["redcap_event_name"] for r in rows}
    # administration 2022-02-01: the GMFM-66 of 2022-01-21 is in the baseline window
    # (30 days before), the one of 2023-02-03 in the 12-month window (2023-02-01 +- 30 days)
    assert events[("gmfm66", "2022-01-21")] == "baseline_arm_1"
    assert events[("gmfm66", "2023-02-03")] == "month_12_arm_1"
    head = rows[0]
    assert head["redcap_event_name"] == "enrolment_arm_1" and head["redcap_repeat_instrument"] == ""
    assert head["record_id"] == "LUB-FHIR-1" and head["site"] == "LUB"


def test_import_lists_every_refused_value_and_keeps_nothing(sites, tmp_path):
    child = rich_patient(sites[0])
    rows = export_rows([child])
    Patient.objects.filter(pk=child.pk).delete()
    for r in rows:
        if r["redcap_repeat_instrument"] == "gmfm66" and r["g66_date"] == "2023-02-03":
            r["g66_score"] = "1O4"  # letter O for zero
        if r["redcap_repeat_instrument"] == "gmfm88":
            r["g88_item_5"] = "4"
        if r["redcap_repeat_instrument"] == "adverse_event" and r["ae_term"] == "Seizure":
            r["ae_date"] = "2022-02-30"
    with pytest.raises(RedcapImportError) as exc:
        import_rows(rows)
    problems = {(p[1], p[2]) for p in exc.value.problems}
    assert ("month_12_arm_1", "g66_score") in problems
    assert ("baseline_arm_1", "g88_item_5") in problems
    assert ("enrolment_arm_1", "ae_date") in problems
    messages = {p[2]: p[3] for p in exc.value.problems}
    assert messages["ae_date"] == "'2022-02-30' is not a date YYYY-MM-DD"
    assert all(p[0] == "LUB-FHIR-1" for p in exc.value.problems)
    assert not Patient.objects.exists()


def test_import_refuses_unknown_columns_and_foreign_dictionaries(tmp_path):
    with pytest.raises(RedcapError, match="unknown columns note") as exc:
        import_rows([{"record_id": "X", "redcap_event_name": "enrolment_arm_1", "note": "x"}])
    assert exc.value.code == "unknown_column"
    bad = tmp_path / "dict.csv"
    rows = dictionary.dictionary_rows()
    rows[3][0] = "dob"
    with bad.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(RedcapError, match="missing birth_date; not cpstem's: dob"):
        check_dictionary(bad)


def test_hostile_text_round_trips_and_is_escaped_in_the_csv(sites, tmp_path):
    child = rich_patient(sites[0])
    child.risk_other = '=HYPERLINK("http://x")'
    child.save()
    out = tmp_path / "r.csv"
    write_csv(export_rows([child]), out)
    assert "'=HYPERLINK" in out.read_text(encoding="utf-8")
    Patient.objects.filter(pk=child.pk).delete()
    import_rows(read_rows(out))
    assert Patient.objects.get(study_id="LUB-FHIR-1").risk_other == '=HYPERLINK("http://x")'


def test_json_must_be_a_list(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"record_id": "x"}), encoding="utf-8")
    with pytest.raises(RedcapError, match="list of records"):
        read_rows(path)

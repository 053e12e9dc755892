"""Editing and deleting every record kind on the web (issue 8): a reason for change on every
update and delete (in the audit trail and the history page), optimistic locking (a stale form
is refused and shows the other person's change beside what the user typed), deletes of
records others depend on, and the read-only detail pages for monitors.

Runs on SQLite and, with ``--db=postgresql``, on a throw-away PostgreSQL server.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from cpstem.registry.errors import StaleVersion
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
from cpstem.registry.services import write
from tests.factories import item_map_text
from tests.registry.record_helpers import one_of_each_kind

pytestmark = pytest.mark.django_db

REASON = "transcription error corrected against the source"


def _form_data(response) -> dict[str, object]:
    """What the browser would post back: the form's current values (bound or initial)."""
    form = response.context["form"]
    data = {}
    for bf in form:
        value = bf.value()
        if value is None or value is False:
            continue
        data[bf.html_name] = "on" if value is True else value
    return data


def _codes(response, field: str) -> list[str]:
    return [e.code for e in response.context["form"].errors.as_data().get(field, [])]


@pytest.mark.parametrize(
    "kind",
    ["classification", "administration", "rehab", "gmfm88", "gmfm66", "spasticity", "lab", "ae"],
)
def test_every_kind_is_edited_with_a_reason_and_deleted_with_a_reason(web, patient, kind):
    obj = one_of_each_kind(patient)[kind]
    c = web("clin")
    url = f"/patients/{patient.pk}/{kind}/{obj.pk}/"
    r = c.get(url + "edit/")
    assert r.status_code == 200
    assert 'name="reason"' in r.content.decode() and 'name="version" value="1"' in (
        r.content.decode()
    )
    data = _form_data(r)
    data.pop("reason", None)
    # without a reason: the form again, nothing saved
    r = c.post(url + "edit/", data)
    assert r.status_code == 200 and _codes(r, "reason") == ["required"]
    assert type(obj).objects.get(pk=obj.pk).version == 1
    r = c.post(url + "edit/", data | {"reason": "bad\u202ereason"})
    assert _codes(r, "reason") == ["control_characters"]
    r = c.post(url + "edit/", data | {"reason": REASON})
    assert r.status_code == 302, r.context["form"].errors if r.context else r
    assert type(obj).objects.get(pk=obj.pk).version == 2
    if kind == "administration":  # the adverse event followed it: refused, named
        r = c.get(url + "delete/")
        assert r.context["blocking"] == ["adverse event fever (grade 1, 2024-05-02)"]
        assert 'name="reason"' not in r.content.decode()
        r = c.post(url + "delete/", {"version": "2", "reason": "wrong lot"})
        assert r.status_code == 409 and type(obj).objects.filter(pk=obj.pk).exists()
        AdverseEvent.objects.all().delete()
    # the delete asks for confirmation and a reason (GMFM-88 and spasticity too)
    r = c.get(url + "delete/")
    assert r.status_code == 200 and 'name="reason"' in r.content.decode()
    r = c.post(url + "delete/", {"version": "2"})
    assert r.status_code == 200 and _codes(r, "reason") == ["required"]
    r = c.post(url + "delete/", {"version": "2", "reason": "entered for the wrong child"})
    assert r.status_code == 302
    assert not type(obj).objects.filter(pk=obj.pk).exists()
    html = c.get(f"/patients/{patient.pk}/history/").content.decode()
    assert REASON in html and "entered for the wrong child" in html
    rows = re.findall(r"<tr><td>[^<]*</td><td>clara</td><td>(\w+)</td>", html)
    assert rows[:2] == ["deleted", "changed"]


def test_history_shows_who_when_what_and_why(web, patient):
    ae = one_of_each_kind(patient)["ae"]
    c = web("clin")
    r = c.get(f"/patients/{patient.pk}/ae/{ae.pk}/edit/")
    data = _form_data(r) | {"grade": "2", "reason": "grade per the nurse's note"}
    assert c.post(f"/patients/{patient.pk}/ae/{ae.pk}/edit/", data).status_code == 302
    html = c.get(f"/patients/{patient.pk}/history/").content.decode()
    row = re.search(r"<tr><td>[^<]*</td><td>clara</td><td>changed</td>.*?</tr>", html, re.S)[0]
    assert "CTCAE grade: 1 → 2" in row or "grade: 1 → 2" in row
    assert '<td class="reason">grade per the nurse&#x27;s note</td>' in row


def test_stale_patient_form_shows_their_change_and_keeps_yours(web, patient):
    first, second = web("clin"), web("admin")
    url = f"/patients/{patient.pk}/edit/"
    mine = _form_data(first.get(url))  # opened at version 1
    theirs = _form_data(second.get(url))
    r = second.post(url, theirs | {"sex": "M", "reason": "sex per birth certificate"})
    assert r.status_code == 302
    # the first user saves the stale form: refused, nothing overwritten
    r = first.post(
        url,
        mine
        | {"consent_date": "2020-01-01", "consent_version": "v2", "sex": "U", "reason": REASON},
    )
    assert r.status_code == 200
    form = r.context["form"]
    assert [e.code for e in form.errors.as_data()["__all__"]] == ["stale_version"]
    conflict = r.context["conflict"]
    assert conflict.who == "ada" and conflict.why == "sex per birth certificate"
    assert {
        "field": "sex",
        "base": "Female",
        "theirs": "Male",
        "yours": "Undetermined / not recorded",
        "differs": True,
    } in conflict.rows
    p = Patient.objects.get(pk=patient.pk)
    assert (p.sex, p.consent_date, p.version) == ("M", None, 2)
    html = r.content.decode()
    assert 'id="conflict"' in html and "Changed by ada" in html
    # what was typed is kept, and the form now carries the current version
    assert form["consent_version"].value() == "v2" and form["reason"].value() == REASON
    assert 'name="version" value="2"' in html
    # saving again (deliberately, after seeing theirs) stores the user's values
    r = first.post(url, _form_data(r))
    assert r.status_code == 302
    p.refresh_from_db()
    assert (p.sex, p.consent_version, p.version) == ("U", "v2", 3)


def test_stale_gmfm88_sheet_lists_the_items_they_changed(web, patient):
    sheet = one_of_each_kind(patient)["gmfm88"]
    c = web("clin")
    url = f"/patients/{patient.pk}/gmfm88/{sheet.pk}/edit/"
    mine = _form_data(c.get(url))
    # someone else corrects item 2 meanwhile (through the write path, as the API does)
    other = GMFM88Assessment.objects.get(pk=sheet.pk)
    other.items = other.items | {"2": 3}
    write.save(other, reason="item 2 re-scored")
    r = c.post(url, mine | {"item_5": "1", "reason": REASON})
    assert r.status_code == 200
    rows = {row["field"]: row for row in r.context["conflict"].rows}
    assert rows["item 2"] == {
        "field": "item 2",
        "base": "2",
        "theirs": "3",
        "yours": "2",
        "differs": True,
    }
    assert rows["item 5"]["theirs"] == "NT" and rows["item 5"]["yours"] == "1"
    assert GMFM88Assessment.objects.get(pk=sheet.pk).items["5"] is None


def test_a_record_deleted_meanwhile_is_not_saved_again(web, patient):
    lab = one_of_each_kind(patient)["lab"]
    c = web("clin")
    url = f"/patients/{patient.pk}/lab/{lab.pk}/edit/"
    mine = _form_data(c.get(url))
    write.delete(LabValue.objects.get(pk=lab.pk), reason="duplicate")
    r = c.post(url, mine | {"value": "4", "reason": REASON})
    assert r.status_code == 404  # gone: not resurrected
    assert not LabValue.objects.exists()


def test_service_stale_version(patient):
    a = Patient.objects.get(pk=patient.pk)
    b = Patient.objects.get(pk=patient.pk)
    a.sex = "M"
    write.save(a, reason="corrected")
    b.sex = "U"
    with pytest.raises(StaleVersion) as exc:
        write.save(b, reason="corrected too")
    assert (exc.value.code, exc.value.expected, exc.value.current) == ("stale_version", 1, 2)
    assert exc.value.record.sex == "M"
    assert Patient.objects.get(pk=patient.pk).sex == "M"
    with pytest.raises(StaleVersion):
        write.delete(b, reason="x")
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_sheet_delete_page_names_the_computed_gmfm66(web, patient, settings, tmp_path):
    path = tmp_path / "map.csv"
    path.write_text(item_map_text())
    settings.CPSTEM = settings.CPSTEM | {"GMFM66_ITEM_MAP": str(path)}
    items = {"1": 3, "2": 3, "23": 2, "52": None}
    sheet = write.save(GMFM88Assessment(patient=patient, date=date(2024, 5, 1), items=items))
    derived = GMFM66Assessment.objects.get(sheet=sheet)
    c = web("clin")
    r = c.get(f"/patients/{patient.pk}/gmfm88/{sheet.pk}/delete/")
    assert r.context["with_it"] == [f"the GMFM-66 assessment {derived} computed from it"]
    r = c.post(f"/patients/{patient.pk}/gmfm88/{sheet.pk}/delete/", {"reason": "wrong child"})
    assert r.status_code == 302
    assert not GMFM66Assessment.objects.exists()


def test_patient_delete_is_refused_while_it_has_records(web, patient):
    one_of_each_kind(patient)
    c = web("clin")
    r = c.post(f"/patients/{patient.pk}/delete/", {"reason": "enrolled by mistake"})
    assert r.status_code == 409
    assert "1 adverse event" in r.context["blocking"] and "1 lab value" in r.context["blocking"]
    assert Patient.objects.filter(pk=patient.pk).exists()
    for model in (
        AdverseEvent,
        Classification,
        Administration,
        RehabEpisode,
        GMFM88Assessment,
        GMFM66Assessment,
        SpasticityAssessment,
        LabValue,
    ):
        model.objects.all().delete()
    r = c.post(f"/patients/{patient.pk}/delete/", {"reason": "enrolled by mistake"})
    assert r.status_code == 302 and r["Location"] == "/patients/"
    assert not Patient.objects.exists()
    assert Patient.history.get(history_type="-").history_change_reason == "enrolled by mistake"


def test_read_only_roles_cannot_edit_or_delete(web, patient):
    ae = one_of_each_kind(patient)["ae"]
    for role in ("monitor", "researcher"):
        c = web(role)
        assert c.get(f"/patients/{patient.pk}/ae/{ae.pk}/edit/").status_code == 403
        assert c.get(f"/patients/{patient.pk}/ae/{ae.pk}/delete/").status_code == 403
        r = c.post(f"/patients/{patient.pk}/ae/{ae.pk}/delete/", {"reason": "x"})
        assert r.status_code == 403
        assert c.post(f"/patients/{patient.pk}/delete/", {"reason": "x"}).status_code == 403
    assert web("clin_b").get(f"/patients/{patient.pk}/ae/{ae.pk}/delete/").status_code == 404
    assert AdverseEvent.objects.exists()


def test_monitor_reads_every_field_of_a_record(web, patient):
    recs = one_of_each_kind(patient)
    c = web("monitor")
    page = c.get(f"/patients/{patient.pk}/")
    html = page.content.decode()
    admin_url = f"/patients/{patient.pk}/administration/{recs['administration'].pk}/"
    ae_url = f"/patients/{patient.pk}/ae/{recs['ae'].pk}/"
    assert f'href="{admin_url}"' in html and f'href="{ae_url}"' in html  # reachable
    r = c.get(admin_url)
    assert r.status_code == 200
    rows = {row["field"]: row["value"] for row in r.context["rows"]}
    assert rows["lot"] == "LOT-4711" and rows["weight_kg"] == "15"
    assert rows["cells_total"] == "4.5e+08" and rows["dose_cells_per_kg"] == "3e+07"
    assert rows["hla_match"] == "5/6" and rows["notes"] == "infusion over 30 min"
    assert rows["product"] == "Umbilical cord blood (UCB)"
    body = r.content.decode()
    assert "Edit" not in body and "Delete" not in body
    # the last change, from the audit trail (saved here without a request: "system")
    assert "Version 1, created by system" in body
    r = c.get(ae_url)
    rows = {row["field"]: row["value"] for row in r.context["rows"]}
    assert rows["action"] == "Treated" or rows["action"].lower().startswith("treat")
    assert rows["notes"] == "paracetamol given" and rows["administration"].startswith("Umbilical")
    r = c.get(f"/patients/{patient.pk}/spasticity/{recs['spasticity'].pk}/")
    assert {row["field"]: row["value"] for row in r.context["rows"]}["mas"] == (
        "Hamstrings left: 1+"
    )
    r = c.get(f"/patients/{patient.pk}/gmfm88/{recs['gmfm88'].pk}/")
    items = {i["number"]: i["score"] for i in r.context["item_rows"]}
    assert (items[1], items[2], items[3]) == (3, 2, "NT")
    assert web("clin_b").get(ae_url).status_code == 404


def test_researcher_detail_page_is_projected(web, patient):
    recs = one_of_each_kind(patient)
    r = web("researcher").get(f"/patients/{patient.pk}/administration/{recs['administration'].pk}/")
    assert r.status_code == 200
    rows = {row["field"]: row["value"] for row in r.context["rows"]}
    assert "lot" not in rows and "notes" not in rows and rows["hla_match"] == "5/6"
    body = r.content.decode()
    assert "LOT-4711" not in body and "2024-04-20" not in body and "clara" not in body
    assert "age 60 mo" in body  # born 2019-04-02: 60 completed months on 2024-04-20


def test_history_lists_the_gmfm_items_that_changed(web, patient):
    sheet = one_of_each_kind(patient)["gmfm88"]  # items 1: 3, 2: 2
    c = web("clin")
    url = f"/patients/{patient.pk}/gmfm88/{sheet.pk}/edit/"
    data = _form_data(c.get(url)) | {"item_2": "1", "item_7": "0", "reason": "re-scored"}
    assert c.post(url, data).status_code == 302
    r = c.get(f"/patients/{patient.pk}/history/")
    (change,) = [ch for ch in r.context["changes"] if ch.kind == "changed"]
    items = [ch for ch in change.changes if ch[0].startswith("item")]
    assert items == [("item 2", "2", "1"), ("item 7", "NT", "0")]
    assert change.reason == "re-scored"

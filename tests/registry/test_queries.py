"""Queries (issue 9, monitoring): the state machine, who may do what at which site, the thread
and its audit trail, the pages (query list, patient panel, field-level queries on the record
page, dashboard counts), the correction linked through the reason for change, the API, and
hostile input (markup escaped, control characters and overlong text refused).

Runs on SQLite and, with ``--db=postgresql``, on a throw-away PostgreSQL server.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from cpstem.registry.errors import FieldErrors
from cpstem.registry.models import AdverseEvent, GMFM88Assessment, Patient, Query, QueryMessage
from cpstem.registry.services import queries, write

pytestmark = pytest.mark.django_db

ASK = "Source document gives grade 2, not 1: please check"


@pytest.fixture
def ae(patient):
    return write.save(
        AdverseEvent(
            patient=patient,
            date=date(2024, 5, 2),
            term="fever",
            grade=1,
            relatedness="possible",
            action="treated",
        )
    )


@pytest.fixture
def other_patient(sites):
    return write.save(
        Patient(site=sites[1], study_id="KRK-001", birth_date=date(2018, 1, 5), sex="M")
    )


def _codes(exc: pytest.ExceptionInfo[FieldErrors]) -> dict[str, list[str]]:
    return exc.value.codes


# --- the state machine (service) --------------------------------------------------------------


def test_open_answer_close_reopen_answer_close(people, patient, ae):
    mon, clin = people["monitor"], people["clin"]
    q = queries.open_query(mon, patient, "ae", ae.pk, "grade", ASK)
    assert (q.state, q.field, q.kind, q.record_id) == ("open", "grade", "ae", ae.pk)
    q = queries.answer(clin, q, "Corrected to grade 2")
    assert q.state == "answered"
    q = queries.close(mon, q, "Thank you")
    assert q.state == "closed"
    q = queries.reopen(mon, q, "The resolution date is missing too")
    assert q.state == "open"
    q = queries.answer(clin, q, "Added")
    q = queries.answer(clin, q, "(and checked the outcome)")  # a second answer is allowed
    q = queries.close(mon, q, "OK")
    thread = list(q.messages.values_list("action", "author__username", "text"))
    assert thread == [
        ("open", "moni", ASK),
        ("answer", "clara", "Corrected to grade 2"),
        ("close", "moni", "Thank you"),
        ("reopen", "moni", "The resolution date is missing too"),
        ("answer", "clara", "Added"),
        ("answer", "clara", "(and checked the outcome)"),
        ("close", "moni", "OK"),
    ]
    # the audit trail of the query: every state with who and why
    states = list(
        Query.history.filter(id=q.pk)
        .order_by("history_id")
        .values_list("state", "history_change_reason")
    )
    assert states == [
        ("open", "query opened"),
        ("answered", "query answered"),
        ("closed", "query closed"),
        ("open", "query re-opened"),
        ("answered", "query answered"),
        ("answered", "query answered"),
        ("closed", "query closed"),
    ]
    assert QueryMessage.history.count() == 7


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        ((), "reopen"),  # an open query cannot be re-opened
        (("close",), "answer"),  # a closed query is re-opened before it is answered
        (("close",), "close"),
        (("answer", "close"), "answer"),
    ],
)
def test_steps_the_state_does_not_allow_are_refused(people, patient, ae, steps, refused):
    q = queries.open_query(people["admin"], patient, "ae", ae.pk, "", ASK)
    for step in steps:
        q = queries.ACTIONS[step](people["admin"], q, "step")
    before = q.messages.count()
    with pytest.raises(FieldErrors) as exc:
        queries.ACTIONS[refused](people["admin"], q, "again")
    assert _codes(exc) == {"state": ["invalid_transition"]}
    assert q.messages.count() == before and Query.objects.get(pk=q.pk).state == q.state


def test_roles_open_close_answer(people, patient, ae):
    with pytest.raises(PermissionDenied):  # clinicians answer, they do not open
        queries.open_query(people["clin"], patient, "ae", ae.pk, "", ASK)
    with pytest.raises(PermissionDenied):
        queries.open_query(people["researcher"], patient, "ae", ae.pk, "", ASK)
    q = queries.open_query(people["admin"], patient, "ae", ae.pk, "", ASK)
    with pytest.raises(PermissionDenied):  # monitors are read-only: they do not answer
        queries.answer(people["monitor"], q, "x")
    with pytest.raises(PermissionDenied):
        queries.close(people["clin"], q, "x")
    with pytest.raises(PermissionDenied):
        queries.visible(people["researcher"])


def test_unknown_field_and_kind_are_refused(people, patient, ae):
    with pytest.raises(FieldErrors) as exc:
        queries.open_query(people["monitor"], patient, "ae", ae.pk, "password", ASK)
    assert _codes(exc) == {"field": ["unknown_field"]}
    with pytest.raises(FieldErrors) as exc:
        queries.open_query(people["monitor"], patient, "x-ray", ae.pk, "", ASK)
    assert _codes(exc) == {"kind": ["invalid_choice"]}
    assert not Query.objects.exists()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "required"),
        ("   \n ", "required"),
        ("wrong\x00value", "control_characters"),
        ("bell\x07", "control_characters"),
        ("right-to-left \u202e override", "control_characters"),
        ("x" * 2001, "max_length"),
    ],
)
def test_hostile_messages_are_refused(people, patient, ae, text, code):
    with pytest.raises(FieldErrors) as exc:
        queries.open_query(people["monitor"], patient, "ae", ae.pk, "", text)
    assert _codes(exc) == {"message": [code]}
    assert not Query.objects.exists()


def test_line_breaks_are_kept_and_2000_characters_allowed(people, patient, ae):
    q = queries.open_query(people["monitor"], patient, "ae", ae.pk, "", "line 1\r\nline 2\tend")
    assert q.messages.get().text == "line 1\nline 2\tend"
    q = queries.answer(people["clin"], q, "y" * 2000)
    assert len(q.messages.last().text) == 2000


# --- pages ------------------------------------------------------------------------------------


def test_monitor_opens_a_field_query_on_the_record_page(web, patient, ae):
    m = web("monitor")
    page = m.get(f"/patients/{patient.pk}/ae/{ae.pk}/").content.decode()
    new = f"/queries/new/?patient={patient.pk}&amp;kind=ae&amp;rid={ae.pk}&amp;field=grade"
    assert new in page  # a "query..." link beside each field
    r = m.get(new.replace("&amp;", "&"))
    assert r.status_code == 200 and '<option value="grade" selected>' in r.content.decode()
    r = m.post(
        "/queries/new/",
        {"patient": patient.pk, "kind": "ae", "rid": ae.pk, "field": "grade", "message": ASK},
    )
    q = Query.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/queries/{q.pk}/"
    # the clinician sees it next to the field on the record page
    page = web("clin").get(f"/patients/{patient.pk}/ae/{ae.pk}/").content.decode()
    row = page.split('data-field="grade"')[1].split("</tr>")[0]
    assert f'href="/queries/{q.pk}/"' in row and "Query #" in row and "open" in row
    assert "query…" not in row  # clinicians do not open queries


def test_patient_panel_list_and_dashboard_counts(web, people, patient, ae, other_patient):
    mon = people["monitor"]
    q1 = queries.open_query(mon, patient, "ae", ae.pk, "grade", ASK)
    q2 = queries.open_query(mon, patient, "patient", patient.pk, "sex", "Sex on the consent?")
    queries.answer(people["clin"], q2, "F, checked")
    q3 = queries.open_query(mon, patient, "ae", ae.pk, "", "closed one")
    queries.close(mon, q3, "opened by mistake")
    q4 = queries.open_query(people["admin"], other_patient, "patient", other_patient.pk, "", "B")
    c = web("clin")
    page = c.get(f"/patients/{patient.pk}/").content.decode()
    panel = page.split('id="queries"')[1].split("</div>")[0]
    assert "1 open" in panel and "1 answered" in panel and "1 closed" in panel
    assert f'data-query="{q1.pk}"' in panel and f'data-query="{q2.pk}"' in panel
    assert f'data-query="{q3.pk}"' not in panel  # closed ones are in the list page
    # the list: open and answered by default; the other site's query never
    page = c.get("/queries/").content.decode()
    assert f'data-query="{q1.pk}"' in page and f'data-query="{q2.pk}"' in page
    assert f'data-query="{q3.pk}"' not in page and f'data-query="{q4.pk}"' not in page
    page = c.get("/queries/?state=closed").content.decode()
    assert f'data-query="{q3.pk}"' in page and f'data-query="{q1.pk}"' not in page
    assert "1 open, 1 answered, 1 closed" in page
    page = web("admin").get("/queries/?state=all&site=KRK").content.decode()
    assert f'data-query="{q4.pk}"' in page and f'data-query="{q1.pk}"' not in page
    assert web("clin").get("/queries/?site=KRK").status_code == 404  # not one of hers
    assert web("researcher").get("/queries/").status_code == 403
    dash = c.get("/dashboard/").content.decode().split('id="dashboard-queries"')[1]
    assert [x.split("<")[0] for x in dash.split('class="num">')[1:4]] == ["1", "1", "1"]
    dash = web("admin").get("/dashboard/").content.decode().split('id="dashboard-queries"')[1]
    assert [x.split("<")[0] for x in dash.split('class="num">')[1:4]] == ["2", "1", "1"]
    assert 'id="dashboard-queries"' not in web("researcher").get("/dashboard/").content.decode()


def test_another_sites_query_is_a_404(web, people, other_patient, patient, ae):
    q = queries.open_query(people["admin"], other_patient, "patient", other_patient.pk, "", "B")
    for role in ("clin", "monitor"):
        assert web(role).get(f"/queries/{q.pk}/").status_code == 404
        assert web(role).post(f"/queries/{q.pk}/close/", {"message": "x"}).status_code == 404
    r = web("monitor").get(
        f"/queries/new/?patient={other_patient.pk}&kind=patient&rid={other_patient.pk}"
    )
    assert r.status_code == 404
    # a record of this site's patient addressed through another patient: 404 too
    r = web("monitor").get(f"/queries/new/?patient={patient.pk}&kind=ae&rid=999999")
    assert r.status_code == 404
    assert web("clin").post(f"/queries/{q.pk}/answer/", {"message": "x"}).status_code == 404
    assert web("clin_b").post(f"/queries/{q.pk}/answer/", {"message": "x"}).status_code == 302


def test_web_roles_on_a_query_page(web, people, patient, ae):
    q = queries.open_query(people["monitor"], patient, "ae", ae.pk, "grade", ASK)
    r = web("clin").get(f"/queries/new/?patient={patient.pk}&kind=ae&rid={ae.pk}")
    assert r.status_code == 403
    page = web("clin").get(f"/queries/{q.pk}/").content.decode()
    assert 'id="query-answer"' in page and 'id="query-close"' not in page
    assert f"/patients/{patient.pk}/ae/{ae.pk}/edit/?query={q.pk}" in page
    page = web("monitor").get(f"/queries/{q.pk}/").content.decode()
    assert 'id="query-close"' in page and 'id="query-answer"' not in page
    assert web("monitor").post(f"/queries/{q.pk}/answer/", {"message": "x"}).status_code == 403
    assert web("clin").post(f"/queries/{q.pk}/close/", {"message": "x"}).status_code == 403
    assert web("clin").post(f"/queries/{q.pk}/delete/", {"message": "x"}).status_code == 404
    assert web("researcher").get(f"/queries/{q.pk}/").status_code == 403
    r = web("monitor").post(f"/queries/{q.pk}/reopen/", {"message": "x"})
    assert r.status_code == 422 and "cannot be re-opened now" in r.content.decode()
    assert Query.objects.get(pk=q.pk).state == "open"


def test_markup_in_messages_is_escaped(web, people, patient, ae):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    q = queries.open_query(people["monitor"], patient, "ae", ae.pk, "grade", evil)
    for url in (f"/queries/{q.pk}/", "/queries/", f"/patients/{patient.pk}/"):
        page = web("clin").get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, url
    page = web("clin").get(f"/queries/{q.pk}/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_web_refuses_control_characters_and_overlong_text(web, patient, ae):
    m = web("monitor")
    base = {"patient": patient.pk, "kind": "ae", "rid": ae.pk, "field": "grade"}
    r = m.post("/queries/new/", base | {"message": "bell\x07"})
    assert r.status_code == 422 and "control or formatting characters" in r.content.decode()
    r = m.post("/queries/new/", base | {"message": "x" * 2001})
    assert r.status_code == 422 and "at most 2000" in r.content.decode()
    r = m.post("/queries/new/", base | {"field": "no_such_field", "message": "x"})
    assert r.status_code == 422
    assert m.get(f"/queries/new/?patient={patient.pk}&kind=ae&rid=1e99").status_code == 404
    assert m.get("/queries/new/?patient=99999999999999999999&kind=ae&rid=1").status_code == 404
    assert not Query.objects.exists()


# --- the correction linked to the query ------------------------------------------------------


def test_edit_form_from_a_query_prefills_the_reason_and_links_the_correction(
    web, people, patient, ae
):
    q = queries.open_query(people["monitor"], patient, "ae", ae.pk, "grade", ASK)
    c = web("clin")
    url = f"/patients/{patient.pk}/ae/{ae.pk}/edit/?query={q.pk}"
    r = c.get(url)
    form = r.context["form"]
    assert form["reason"].value() == f"Query #{q.pk}: corrected against the source document"
    data = {bf.html_name: bf.value() for bf in form if bf.value() not in (None, False)}
    data |= {"grade": "2", "reason": f"Query #{q.pk}: grade 2 per the source document"}
    r = c.post(url, data)
    assert r.status_code == 302 and r["Location"] == f"/queries/{q.pk}/", (
        r.context and r.context["form"].errors
    )
    assert AdverseEvent.objects.get(pk=ae.pk).grade == 2
    step = q.messages.get(action="correction")
    assert (step.author.username, step.record_version) == ("clara", 2)
    assert step.text == f"Query #{q.pk}: grade 2 per the source document"
    assert Query.objects.get(pk=q.pk).state == "open"  # the answer is the clinician's step
    page = web("monitor").get(f"/queries/{q.pk}/").content.decode()
    assert "corrected the record" in page and "version 2" in page
    assert f'href="/patients/{patient.pk}/history/"' in page  # the audit link
    # the reason is in the record's audit trail as well
    history = web("monitor").get(f"/patients/{patient.pk}/history/").content.decode()
    assert f"Query #{q.pk}: grade 2 per the source document" in history


def test_a_reason_naming_another_records_query_links_nothing(people, patient, ae):
    q = queries.open_query(people["monitor"], patient, "patient", patient.pk, "sex", ASK)
    ae.grade = 2
    write.save(ae, reason=f"Query #{q.pk}: wrong record")
    assert not q.messages.filter(action="correction").exists()
    patient.sex = "M"
    write.save(patient, reason=f"Query #{q.pk}: sex corrected")
    assert q.messages.filter(action="correction").get().record_version == 2


def test_patient_edit_from_a_query(web, people, patient):
    q = queries.open_query(people["monitor"], patient, "patient", patient.pk, "sex", ASK)
    r = web("clin").get(f"/patients/{patient.pk}/edit/?query={q.pk}")
    assert r.context["form"]["reason"].value().startswith(f"Query #{q.pk}: ")


# --- the API ----------------------------------------------------------------------------------


def test_api_workflow_and_filters(api, patient, ae, other_patient, people):
    m = api("monitor")
    body = {"patient_id": patient.pk, "kind": "ae", "record_id": ae.pk, "field": "grade"}
    r = m.post("/queries", body | {"message": ASK})
    assert r.status_code == 201, r.json()
    q = r.json()
    assert (q["state"], q["site"], q["field"], q["opened_by"]) == ("open", "LUB", "grade", "moni")
    assert [s["action"] for s in q["messages"]] == ["open"]
    c = api("clin")
    r = c.post(f"/queries/{q['id']}/answer", {"message": "Corrected"})
    assert r.status_code == 200 and r.json()["state"] == "answered"
    r = c.patch(
        f"/patients/{patient.pk}/adverse-events/{ae.pk}",
        {"grade": 2, "reason": f"Query #{q['id']}: grade 2"},
    )
    assert r.status_code == 200, r.json()
    r = m.get(f"/queries/{q['id']}")
    steps = [(s["action"], s["author"], s["record_version"]) for s in r.json()["messages"]]
    assert steps == [("open", "moni", None), ("answer", "clara", None), ("correction", "clara", 2)]
    assert c.post(f"/queries/{q['id']}/close", {"message": "x"}).status_code == 403
    assert m.post(f"/queries/{q['id']}/answer", {"message": "x"}).status_code == 403
    r = m.post(f"/queries/{q['id']}/close", {"message": "Thanks"})
    assert r.json()["state"] == "closed"
    r = m.post(f"/queries/{q['id']}/close", {"message": "again"})
    assert r.status_code == 422 and r.json()["codes"] == {"state": ["invalid_transition"]}
    assert m.post(f"/queries/{q['id']}/reopen", {"message": "no"}).json()["state"] == "open"
    # filters; another site's query is never listed, nor reachable
    other = api("admin").post(
        "/queries",
        {"patient_id": other_patient.pk, "kind": "patient", "record_id": other_patient.pk}
        | {"message": "B"},
    )
    assert other.status_code == 201
    ids = lambda r: [x["id"] for x in r.json()["items"]]  # noqa: E731
    assert ids(c.get("/queries")) == [q["id"]]
    assert ids(c.get("/queries?state=closed")) == []
    assert ids(c.get("/queries?state=open")) == [q["id"]]
    assert ids(api("admin").get("/queries?site=KRK")) == [other.json()["id"]]
    assert ids(api("admin").get(f"/queries?patient={patient.pk}")) == [q["id"]]
    assert c.get(f"/queries?patient={other_patient.pk}").status_code == 404
    assert c.get(f"/queries/{other.json()['id']}").status_code == 404
    assert api("clin_b").get(f"/queries/{q['id']}").status_code == 404
    assert api("clin_b").post(f"/queries/{q['id']}/answer", {"message": "x"}).status_code == 404
    assert api("researcher").get("/queries").status_code == 403
    assert c.get("/queries?state=pending").status_code == 422
    assert c.get("/queries?sate=open").status_code == 422  # a misspelt filter


def test_api_refuses_hostile_input(api, patient, ae, people):
    m = api("monitor")
    body = {"patient_id": patient.pk, "kind": "ae", "record_id": ae.pk}
    cases = [
        (body | {"message": "x" * 2001}, "message"),
        (body | {"message": ""}, "message"),
        (body | {"message": "bell\x07"}, "message"),
        (body | {"message": "nul\x00"}, "message"),
        (body | {"message": "ok", "field": "f" * 65}, "field"),
        (body | {"message": "ok", "field": "no_such"}, "field"),
        (body | {"message": "ok", "kind": "x-ray"}, "kind"),
        (body | {"message": "ok", "record_id": 2**64}, "record_id"),
        (body | {"message": "ok", "extra": 1}, "extra"),
        (body | {"message": 12}, "message"),
    ]
    for payload, field in cases:
        r = m.post("/queries", payload)
        assert r.status_code == 422, (payload, r.status_code)
        assert field in r.json()["errors"], (payload, r.json())
    assert m.post("/queries", body | {"message": "ok", "record_id": 12345}).status_code == 404
    assert api("clin").post("/queries", body | {"message": "ok"}).status_code == 403
    assert api("researcher").post("/queries", body | {"message": "ok"}).status_code == 403
    assert api("clin_b").post("/queries", body | {"message": "ok"}).status_code == 403
    assert api("admin").post("/queries", body | {"message": "ok"}).status_code == 201
    r = m.client.post(
        "/api/v1/queries", "{not json", content_type="application/json", headers=m.headers
    )
    assert r.status_code == 400
    evil = "<script>alert(1)</script>"
    r = m.post("/queries", body | {"message": evil})
    assert r.status_code == 201 and r["Content-Type"].startswith("application/json")
    assert r.json()["messages"][0]["text"] == evil  # JSON: stored and returned as text
    assert Query.objects.count() == 2


def test_query_states_are_in_the_patients_audit_trail(web, people, patient, ae):
    q = queries.open_query(people["monitor"], patient, "ae", ae.pk, "grade", ASK)
    queries.answer(people["clin"], q, "done")
    page = web("monitor").get(f"/patients/{patient.pk}/history/").content.decode()
    assert "query opened" in page and "query answered" in page
    assert "state: open → answered" in page


def test_gmfm88_sheet_page_shows_its_queries(web, people, patient):
    sheet = write.save(GMFM88Assessment(patient=patient, date=date(2024, 5, 1), items={"1": 3}))
    q = queries.open_query(people["monitor"], patient, "gmfm88", sheet.pk, "notes", "Notes?")
    q2 = queries.open_query(people["monitor"], patient, "gmfm88", sheet.pk, "items", "Item 1?")
    page = web("clin").get(f"/patients/{patient.pk}/gmfm88/{sheet.pk}/").content.decode()
    row = page.split('data-field="notes"')[1].split("</tr>")[0]
    assert f"Query #{q.pk} open" in row
    panel = page.split('id="record-queries"')[1].split("</ul>")[0]
    assert f"Query #{q.pk}" in panel and f"Query #{q2.pk}" in panel

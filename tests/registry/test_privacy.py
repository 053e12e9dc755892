"""One privacy projection per role (cpstem.registry.privacy).

Two children at two sites carry marker text in every free-text field, marker study IDs and
consent versions, and known calendar dates. A researcher then opens every URL of the URLconf
(every pattern, path parameters filled with the seeded objects) and every GET operation of the
API's OpenAPI schema, and downloads the exports: no marker, study ID, calendar date or fine
age may appear. Positive checks: researchers still see research IDs, ages in months (worked by
hand below) and scores; a clinician sees the full data of the own site and nothing of another.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from django.apps import apps
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from cpstem.errors import CpstemError
from cpstem.outcomes.dates import age_months
from cpstem.registry import exporter, privacy
from cpstem.registry.api.records import RECORD_PATHS
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    Classification,
    FollowUpVisit,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Patient,
    RehabEpisode,
    SpasticityAssessment,
)
from cpstem.registry.privacy import T
from cpstem.registry.privacy.policy import FIELDS, coded_term
from cpstem.registry.services.trajectory import trajectory
from cpstem.registry.views.records import KINDS
from tests.factories import Api

pytestmark = pytest.mark.django_db

TEMPLATES = Path(privacy.__file__).parents[1] / "templates"


# --- the field table ----------------------------------------------------------------------


def _patient_data_models() -> set[type]:
    """Every model of the registry app that holds a patient's data (not the audit copies)."""
    out = {Patient}
    for model in apps.get_app_config("registry").get_models():
        if model.__name__.startswith("Historical"):
            continue
        if any(f.is_relation and f.related_model is Patient for f in model._meta.concrete_fields):
            out.add(model)
    return out


def test_every_field_of_patient_data_has_a_privacy_decision():
    """A new model field (or a new model with patient data) fails here until it has a row in
    ``privacy.policy.FIELDS``."""
    assert _patient_data_models() == set(FIELDS)
    for model, table in FIELDS.items():
        names = {f.name for f in model._meta.concrete_fields}
        assert names == set(table), (model.__name__, names ^ set(table))
        for name, (t, why) in table.items():
            assert isinstance(t, T) and why, (model.__name__, name)


#: Text fields whose content the model checks against a closed format (or generates).
VALIDATED_TEXT = {
    (Patient, "research_id"),
    (Administration, "hla_match"),
    (GMFM88Assessment, "goal_dimensions"),
    (FollowUpVisit, "label"),
}


def test_free_text_is_never_shown_as_stored():
    """Free CharFields/TextFields (no choices) are hidden or reduced to a closed term list,
    except the few whose content the model validates against a closed format."""
    for model, table in FIELDS.items():
        for f in model._meta.concrete_fields:
            if isinstance(f, models.CharField | models.TextField) and not f.choices:
                if (model, f.name) in VALIDATED_TEXT:
                    continue
                assert table[f.name][0] in (T.HIDE, T.TERM), (model.__name__, f.name)
            if isinstance(f, models.DateField | models.DateTimeField):
                assert table[f.name][0] in (T.DATE, T.HIDE), (model.__name__, f.name)


def test_closed_term_lists_and_coarsening():
    assert coded_term(AdverseEvent, "term", "  PYREXIA ") == "Fever"
    assert coded_term(AdverseEvent, "term", "fever") == "Fever"
    assert coded_term(AdverseEvent, "term", "fever after Anna's visit") == "other"
    assert coded_term(LabValue, "analyte", "c-reactive  protein") == "CRP"
    assert coded_term(LabValue, "unit", "MG/L") == "mg/L"
    assert coded_term(LabValue, "unit", "") is None
    proj = privacy.research()
    row = {"gestational_age_weeks": 32.9, "birth_weight_g": 1849, "study_id": "X-1"}
    assert proj.values(Patient, row, date(2020, 1, 1)) == {
        "gestational_age_weeks": 32,
        "birth_weight_g": 1800,
    }
    assert proj.values(Patient, {"birth_weight_g": 2350}, None) == {"birth_weight_g": 2400}
    # dates become ages in completed months: 2020-01-31 -> 2021-03-30 is 13 months (not 14)
    assert proj.values(AdverseEvent, {"resolution_date": date(2021, 3, 30)}, date(2020, 1, 31)) == {
        "resolution_age_months": 13
    }
    with pytest.raises(KeyError, match="no privacy decision"):
        proj.values(Patient, {"nickname": "x"}, None)


def test_templates_decide_nothing_about_roles():
    """No template tests the role to choose what to show (labels come from ``proj``)."""
    role_test = re.compile(r"{%[^%]*\b(pseudonymised|role|is_pseudonymised)\b[^%]*%}")
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not role_test.search(text), (path.name, role_test.search(text))
        for banned in ("{% when", "patient_label", "study_id"):
            assert banned not in text, (path.name, banned)


# --- seeded registry ------------------------------------------------------------------------

BIRTH = {"A": date(2018, 3, 14), "B": date(2019, 7, 23)}


def _marker(who: str, name: str, max_length: int | None) -> str:
    text = f"ZZMARKER-{who}-{name}"
    return text[:max_length] if max_length else text


def _free_text(model, who: str) -> dict[str, str]:
    """Marker text in every free-text field of the model (whatever the privacy table says)."""
    out = {}
    for f in model._meta.concrete_fields:
        if (
            isinstance(f, models.CharField | models.TextField)
            and not f.choices
            and (model, f.name) not in VALIDATED_TEXT
            and f.name not in ("study_id", "consent_version")
        ):
            out[f.name] = _marker(who, f.name, f.max_length)
    return out


def _save(obj):
    obj.full_clean()
    obj.save()
    return obj


def _child(site, who: str, shift: int) -> dict:
    """A child with one record of each kind; ``shift`` years later for child B."""
    y = 2022 + shift
    p = _save(
        Patient(
            site=site,
            study_id=f"ZZSTUDY-{who}1",
            birth_date=BIRTH[who],
            sex="F",
            gestational_age_weeks="32.5",
            birth_weight_g=1849,
            consent_date=date(y, 4, 4),
            consent_version=f"ZZCONSENT-{who}",
            preterm_birth=True,
            **_free_text(Patient, who),
        )
    )
    text = {m: _free_text(m, who) for m in FIELDS}
    rec = {"patient": p}
    rec["classification"] = _save(
        Classification(patient=p, date=date(y, 1, 12), system="gmfcs", level=3)
    )
    rec["administration"] = _save(
        Administration(
            patient=p,
            date=date(y, 5, 17),
            product="other",
            origin="allogeneic",
            hla_match="5/6",
            cells_total=4.5e8,
            weight_kg=15.0,
            route="other",
            **text[Administration],
        )
    )
    rec["gmfm88"] = _save(
        GMFM88Assessment(
            patient=p, date=date(y, 5, 10), items={"1": 3, "2": 2}, **text[GMFM88Assessment]
        )
    )
    _save(
        GMFM66Assessment(
            patient=p, date=date(y, 5, 10), score=41.5, se=1.5, **text[GMFM66Assessment]
        )
    )
    rec["gmfm66"] = _save(
        GMFM66Assessment(
            patient=p, date=date(y + 1, 5, 19), score=47.5, se=1.5, **text[GMFM66Assessment]
        )
    )
    rec["spasticity"] = _save(
        SpasticityAssessment(
            patient=p,
            date=date(y, 5, 11),
            mas=[{"muscle": "hamstrings", "side": "L", "grade": "1+"}],
            **text[SpasticityAssessment],
        )
    )
    rec["lab"] = _save(LabValue(patient=p, date=date(y, 5, 18), value=3.2, **text[LabValue]))
    _save(
        LabValue(
            patient=p, date=date(y, 5, 19), analyte="c-reactive protein", unit="mg/l", value=4.1
        )
    )
    rec["ae"] = _save(
        AdverseEvent(
            patient=p,
            date=date(y, 5, 18),
            resolution_date=date(y, 5, 21),
            grade=1,
            relatedness="possible",
            **text[AdverseEvent],
        )
    )
    _save(
        AdverseEvent(
            patient=p, date=date(y, 5, 19), term="pyrexia", grade=2, relatedness="possible"
        )
    )
    rec["rehab"] = _save(
        RehabEpisode(
            patient=p,
            date=date(y, 6, 1),
            end_date=date(y, 9, 30),
            therapy="other",
            hours_per_week=3,
            **text[RehabEpisode],
        )
    )
    return rec


@pytest.fixture
def seeded(sites, people):
    a, b = _child(sites[0], "A", 0), _child(sites[1], "B", 1)
    assert FollowUpVisit.objects.filter(patient=a["patient"]).exists()
    return {"A": a, "B": b}


_MONTHS = "January February March April May June July August September October November December"


def _date_forms(d: date) -> set[str]:
    """A calendar date as ISO and in the common ways pages and spreadsheets write it."""
    month = _MONTHS.split()[d.month - 1]
    return {
        d.isoformat(),
        d.strftime("%Y/%m/%d"),
        d.strftime("%d.%m.%Y"),
        d.strftime("%d/%m/%Y"),
        d.strftime("%m/%d/%Y"),
        d.strftime("%Y%m%d"),
        f"{month} {d.day}, {d.year}",
        f"{month[:3]}. {d.day}, {d.year}",
        f"{month[:3]} {d.day}, {d.year}",
        f"{d.day} {month} {d.year}",
        f"{d.day} {month[:3]} {d.year}",
    }


def _forbidden(who: str = "AB") -> set[str]:
    """Marker texts, study IDs, consent versions and every calendar date of the seeded records
    (birth dates, event dates, the derived visit dates) of the children ``who``."""
    out = set()
    for w in who:
        out |= {f"ZZMARKER-{w}", f"ZZSTUDY-{w}", f"ZZCONSENT-{w}"}
    ids = list(
        Patient.objects.filter(study_id__in=[f"ZZSTUDY-{w}1" for w in who]).values_list(
            "pk", flat=True
        )
    )
    for model in FIELDS:
        dates = [f.name for f in model._meta.concrete_fields if type(f) is models.DateField]
        qs = (
            model.objects.filter(pk__in=ids)
            if model is Patient
            else model.objects.filter(patient_id__in=ids)
        )
        for row in qs.values(*dates):
            out |= {s for d in row.values() if d is not None for s in _date_forms(d)}
    return out


_FINE_AGE = re.compile(r"age[^0-9<>]{0,24}\d+\.\d{2,}", re.IGNORECASE)


def _leaks(text: str, forbidden: set[str]) -> list[str]:
    found = sorted(s for s in forbidden if s.lower() in text.lower())
    return found + _FINE_AGE.findall(text)


def _json_ages(obj, path="") -> list[str]:
    """Keys that give an age finer than 0.1 (or in years) anywhere in a JSON answer."""
    bad = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "age_years" or ("age" in k and isinstance(v, float) and round(v, 1) != v):
                bad.append(f"{path}.{k}={v}")
            bad += _json_ages(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            bad += _json_ages(v, f"{path}[{i}]")
    return bad


# --- every URL of the URLconf ---------------------------------------------------------------

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _fill(route: str, values: dict[str, str]) -> str | None:
    """A pattern's text with its parameters filled (None when a value is missing)."""
    route = route.replace("^", "").replace("$", "").replace("\\Z", "")
    missing = []

    def put(m):
        name = m.group(m.lastindex)
        if name not in values:
            missing.append(name)
            return ""
        return str(values[name])

    text = _GROUP.sub(put, _PARAM.sub(put, route))
    return None if missing else text.replace("\\", "")


def _routes(resolver=None, prefix="") -> list[str]:
    """Every pattern of the URLconf as a route with its parameters still in (``<int:pk>/``)."""
    resolver = resolver or get_resolver()
    out = []
    for p in resolver.url_patterns:
        text = str(p.pattern)
        if isinstance(p, URLResolver):
            out += _routes(p, prefix + text)
        elif isinstance(p, URLPattern):
            out.append(prefix + text)
    return out


def _fillings(seeded) -> list[dict[str, str]]:
    """Parameter values from the seeded objects: each child, each record kind with its id."""
    out = []
    for rec in seeded.values():
        p = rec["patient"]
        for kind in KINDS:
            out.append(
                {
                    "pk": p.pk,
                    "kind": kind,
                    "rid": rec[kind].pk,
                    "object_id": p.pk,
                    "app_label": "registry",
                    "url": "registry/patient/",
                    "content_type_id": 1,
                    "format": "json",
                    "path": "x",
                    "uidb64": "x",
                    "token": "x",
                }
            )
    return out


def _all_urls(seeded) -> list[str]:
    urls = set()
    for route in _routes():
        for values in _fillings(seeded):
            url = _fill(route, values)
            if url is None:
                continue
            url = "/" + url
            try:
                resolve(url)
            except Resolver404:
                continue
            urls.add(url)
    extra = [
        "/patients/?overdue=1",
        "/patients/?q=R",
        "/dashboard/?months=6",
        "/dashboard/?months=24",
    ] + [f"/patients/{r['patient'].pk}/trajectory.svg?format=png" for r in seeded.values()]
    return sorted(urls) + extra


def test_the_url_walk_covers_every_page(seeded):
    urls = _all_urls(seeded)
    names = {resolve(u.split("?")[0]).url_name for u in urls}
    assert {
        "patients",
        "patient",
        "patient_edit",
        "history",
        "trajectory_chart",
        "gmfm88",
        "record_new",
        "record_edit",
        "record_delete",
        "dashboard",
        "export_csv",
    } <= names
    a = seeded["A"]["patient"].pk
    assert f"/patients/{a}/gmfm88/{seeded['A']['gmfm88'].pk}/" in urls
    assert f"/patients/{a}/ae/{seeded['A']['ae'].pk}/edit/" in urls


def test_researcher_walks_every_url_and_sees_no_identifier_date_or_free_text(seeded, web):
    c = web("researcher")
    forbidden = _forbidden()
    seen = 0
    for url in _all_urls(seeded):
        r = c.get(url)
        assert r.status_code < 500, (url, r.status_code)
        body = r.content.decode("utf-8", "replace")
        assert not _leaks(body, forbidden), (url, _leaks(body, forbidden))
        seen += r.status_code == 200
    assert seen >= 10


def test_researcher_gets_every_api_read_and_sees_no_identifier_date_or_free_text(
    seeded, people, client
):
    spec = client.get("/api/v1/openapi.json").json()
    c = Api(people["researcher"])
    forbidden = _forbidden()
    gets = [p for p, ops in spec["paths"].items() if "get" in ops]
    assert {"/api/v1/patients", "/api/v1/patients/{pk}", "/api/v1/patients/{pk}/trajectory"} <= set(
        gets
    )
    answered = 0
    for path in gets:
        for rec in seeded.values():
            values = {"pk": rec["patient"].pk, "qid": 1} | {k: v.pk for k, v in rec.items()}
            model = RECORD_PATHS.get(path.removeprefix("/api/v1"))
            if model is not None:  # a single record: the seeded record of that kind
                values["rid"] = next(v.pk for v in rec.values() if type(v) is model)
            url = re.sub(r"\{(\w+)\}", lambda m, v=values: str(v[m.group(1)]), path)
            r = c.client.get(
                url + ("?limit=1000" if url.endswith("/patients") else ""), headers=c.headers
            )
            assert r.status_code < 500, (url, r.status_code)
            body = r.content.decode()
            assert not _leaks(body, forbidden), (url, _leaks(body, forbidden))
            if r.status_code == 200:
                answered += 1
                assert not _json_ages(r.json()), (url, _json_ages(r.json()))
    assert answered >= 4


def test_research_exports_carry_no_identifier_date_or_free_text(seeded, web, tmp_path):
    forbidden = _forbidden()
    csv = web("researcher").get("/export.csv")
    assert csv.status_code == 200
    assert not _leaks(csv.content.decode(), forbidden)
    exporter.write(tmp_path / "all.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "all.xlsx")
    text = "\n".join(str(c.value) for s in wb for row in s.iter_rows() for c in row)
    assert not _leaks(text, forbidden), _leaks(text, forbidden)
    for sheet in wb:
        header = [c.value for c in sheet[1]]
        assert not {"notes", "study_id", "birth_date", "date", "age_years"} & set(header)
    # what researchers still get: hand-worked ages, coarsened quasi-identifiers, coded terms
    a = seeded["A"]["patient"]
    pats = pd.read_excel(tmp_path / "all.xlsx", sheet_name="patients").set_index("research_id")
    assert pats.loc[a.research_id, "gestational_age_weeks"] == 32  # 32.5 -> completed weeks
    assert pats.loc[a.research_id, "birth_weight_g"] == 1800  # 1849 g -> nearest 100 g
    # born 2018-03-14, cells 2022-05-17: 4 years 2 months -> 50 months
    assert pats.loc[a.research_id, "age_months_at_first_administration"] == 50
    aes = pd.read_excel(tmp_path / "all.xlsx", sheet_name="adverse_events")
    mine = aes[aes.research_id == a.research_id].set_index("grade")
    assert mine.loc[1, "term"] == "other" and mine.loc[2, "term"] == "Fever"
    assert mine.loc[1, "duration_days"] == 3 and mine.loc[1, "age_months"] == 50
    labs = pd.read_excel(tmp_path / "all.xlsx", sheet_name="labs")
    mine = labs[labs.research_id == a.research_id].sort_values("value")
    assert list(mine.analyte) == ["other", "CRP"] and list(mine.unit) == ["other", "mg/L"]


def test_researcher_sees_research_ids_ages_in_months_and_scores(seeded, web, api):
    a = seeded["A"]["patient"]
    html = web("researcher").get(f"/patients/{a.pk}/").content.decode()
    assert a.research_id in html and "ZZSTUDY" not in html
    # cells 2022-05-17 at 50 months; baseline GMFM-66 2022-05-10 at 49 (day 10 < 14);
    # follow-up 2023-05-19 at 62 months
    assert "Cells age 50 mo" in html and "on age 49 mo" in html and "age 62 mo" in html
    assert "41.5" in html and "47.5" in html and "Fever, grade 2" in html
    listing = web("researcher").get("/patients/").content.decode()
    assert "<th>Research ID</th>" in listing and a.research_id in listing
    t = api("researcher").get(f"/patients/{a.pk}/trajectory").json()
    (adm,) = t["administrations"]
    assert adm["age_months"] == 50 and adm["baseline"]["age_months"] == 49
    (row,) = adm["follow_up"]
    # 2022-05-17 -> 2023-05-19 = 367 days = 12.06 months (30.436875 days each) -> 12.1
    assert row["age_months"] == 62 and row["months_since"] == 12.1
    assert row["observed_change"] == pytest.approx(47.5 - 41.5)
    assert [o["age_months"] for o in t["observations"]] == [49, 62]
    p = api("researcher").get(f"/patients/{a.pk}").json()
    assert p["study_id"] is None and p["birth_date"] is None and p["research_id"] == a.research_id


def test_researcher_gets_a_clear_403_for_the_audit_trail(seeded, web, api):
    a = seeded["A"]["patient"]
    r = web("researcher").get(f"/patients/{a.pk}/history/")
    assert r.status_code == 403
    assert "audit trail is not part of the pseudonymised research view" in r.content.decode()
    r = api("researcher").get(f"/patients/{a.pk}/history")
    assert r.status_code == 403 and "audit trail" in r.json()["detail"]


def test_chart_for_researchers_is_drawn_in_whole_months(seeded, web):
    """The chart's points sit on whole months of age for researchers (not on the exact day)."""
    a = seeded["A"]["patient"]
    t = trajectory(a)
    birth, obs, changes = privacy.research().plot_inputs(a.birth_date, t.observations, t.changes)
    assert [age_months(birth, o.day) for o in obs] == [49, 62]
    assert [o.day.day for o in obs] == [1, 1] and birth.day == 1
    assert changes[0].rows == () and age_months(birth, changes[0].day) == 50
    svg = web("researcher").get(f"/patients/{a.pk}/trajectory.svg").content.decode()
    assert not _leaks(svg, _forbidden())


def test_clinician_sees_full_data_of_the_own_site_only(seeded, web, api):
    a, b = seeded["A"]["patient"], seeded["B"]["patient"]
    c = web("clin")  # LUB, the site of child A
    html = c.get(f"/patients/{a.pk}/").content.decode()
    assert "ZZSTUDY-A1" in html and "2018-03-14" in html and "ZZCONSENT-A" in html
    assert "ZZMARKER-A-term" in html and "ZZMARKER-A-analyte" in html
    assert "2022-05-17 (age 50 mo)" in html
    assert c.get(f"/patients/{b.pk}/").status_code == 404
    forbidden_b = _forbidden("B") - _forbidden("A")  # B's own texts and dates
    for url in _all_urls(seeded):
        r = c.get(url)
        assert r.status_code < 500, (url, r.status_code)
        assert not _leaks(r.content.decode("utf-8", "replace"), forbidden_b), url
    p = api("clin").get(f"/patients/{a.pk}").json()
    assert p["study_id"] == "ZZSTUDY-A1" and p["birth_date"] == "2018-03-14"
    t = api("clin").get(f"/patients/{a.pk}/trajectory").json()
    assert t["administrations"][0]["date"] == "2022-05-17"
    assert api("clin").get(f"/patients/{b.pk}/trajectory").status_code == 404
    listed = api("clin").get("/patients").json()["items"]
    assert [x["study_id"] for x in listed] == ["ZZSTUDY-A1"]
    assert json.dumps(api("monitor").get(f"/patients/{a.pk}").json()).count("ZZSTUDY-A1") == 1


def test_an_unanalysable_child_is_reported_to_researchers_by_code_only(seeded, web, api):
    """Analysis error messages may quote a record; researchers get the error's code."""
    a = seeded["A"]["patient"]
    GMFM66Assessment.objects.filter(pk=seeded["A"]["gmfm66"].pk).update(date=date(2017, 11, 3))
    forbidden = _forbidden() | _date_forms(date(2017, 11, 3))
    with pytest.raises(CpstemError) as err:
        trajectory(a)
    code = err.value.code
    assert code and code not in err.value.message
    page = web("researcher").get(f"/patients/{a.pk}/")
    assert page.status_code == 200
    assert f"Trajectory not analysable: {code}<" in page.content.decode()
    assert not _leaks(page.content.decode(), forbidden)
    chart = web("researcher").get(f"/patients/{a.pk}/trajectory.svg")
    assert (
        chart.status_code == 422 and chart.content.decode() == f"Trajectory not analysable: {code}"
    )
    r = api("researcher").get(f"/patients/{a.pk}/trajectory")
    assert r.status_code == 422 and r.json()["errors"] == {"__all__": [code]}
    board = web("researcher").get("/dashboard/").content.decode()
    assert f"{a.research_id}: not analysable: {code}<" in board
    assert not _leaks(board, forbidden)
    # clinicians of the site read the message itself
    clin = web("clin").get(f"/patients/{a.pk}/").content.decode()
    assert "Trajectory not analysable: a GMFM-66 is dated before the child" in clin


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("admin", {"ZZSTUDY-A1", "ZZSTUDY-B1"}, set()),
        ("monitor", {"ZZSTUDY-A1"}, {"ZZSTUDY-B1", "R"}),
        ("clin_b", {"ZZSTUDY-B1"}, {"ZZSTUDY-A1", "R"}),
        ("researcher", {"R"}, {"ZZSTUDY-A1", "ZZSTUDY-B1"}),
    ],
)
def test_each_role_lists_the_patients_of_its_sites_by_its_label(seeded, web, role, shown, hidden):
    rids = {seeded[w]["patient"].research_id for w in "AB"}
    html = web(role).get("/patients/").content.decode()
    labels = set(re.findall(r'/patients/\d+/">([^<]+)</a>', html))
    expected = {s for s in shown if s != "R"} | (rids if "R" in shown else set())
    assert labels == expected
    assert not labels & ({h for h in hidden if h != "R"} | (rids if "R" in hidden else set()))
    header = "Research ID" if role == "researcher" else "Study ID"
    assert f"<th>{header}</th>" in html

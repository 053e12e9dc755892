"""The REST API: minimal bodies, field-level errors, auth, site separation, audit.

Runs on SQLite and, with ``--db=postgresql``, on a throw-away PostgreSQL server.
"""

from __future__ import annotations

import pytest

from cpstem.registry.models import Patient

pytestmark = pytest.mark.django_db

MINIMAL_PATIENT = {"study_id": "LUB-001", "birth_date": "2019-04-02", "sex": "F"}
SHEET = {"date": "2024-05-01", "items": {"1": 3, "2": 3, "23": 2, "52": "NT"}}
AE = {
    "onset_date": "2024-05-02",
    "term": "fever",
    "grade": 2,
    "serious": False,
    "relatedness": "possible",
}


@pytest.fixture
def created(api):
    r = api("clin").post("/patients", MINIMAL_PATIENT)
    assert r.status_code == 201, r.content
    return r.json()["id"]


def test_minimal_patient_goes_to_own_site(api, created):
    p = Patient.objects.get(pk=created)
    assert p.site.code == "LUB" and p.study_id == "LUB-001"
    r = api("clin").get(f"/patients/{created}")
    assert r.status_code == 200 and r.json()["birth_date"] == "2019-04-02"


def test_minimal_gmfm_returns_scores(api, created):
    r = api("clin").post(f"/patients/{created}/assessments/gmfm", SHEET)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["dimension_percent"]["A"] == pytest.approx(6 / 51 * 100)
    assert body["dimension_percent"]["B"] == pytest.approx(2 / 60 * 100)
    assert body["total"] == pytest.approx((6 / 51 + 2 / 60) * 100 / 5)
    assert 52 in body["not_tested"] and 1 not in body["not_tested"]


def test_minimal_adverse_event(api, created):
    r = api("clin").post(f"/patients/{created}/adverse-events", AE)
    assert r.status_code == 201, r.content
    assert r.json()["grade"] == 2 and r.json()["relatedness"] == "possible"


def test_administration_spasticity_trajectory_history(api, created):
    c = api("clin")
    r = c.post(
        f"/patients/{created}/classifications",
        {"date": "2023-01-10", "system": "gmfcs", "level": "III"},
    )
    assert r.status_code == 201, r.content
    r = c.post(
        f"/patients/{created}/administrations",
        {
            "date": "2023-03-01",
            "product": "ucb",
            "origin": "allogeneic",
            "route": "intravenous",
            "cell_count": "3 x 10^7",
            "cell_count_unit": "per_kg",
            "weight_kg": 15,
            "hla_match": "5/6",
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["cells_total"] == pytest.approx(4.5e8) and r.json()[
        "dose_cells_per_kg"
    ] == pytest.approx(3e7)
    assert (
        c.post(
            f"/patients/{created}/assessments/gmfm66",
            {"date": "2023-02-25", "score": 40, "se": 1.5},
        ).status_code
        == 201
    )
    assert (
        c.post(
            f"/patients/{created}/assessments/gmfm66", {"date": "2024-03-01", "score": 46}
        ).status_code
        == 201
    )
    r = c.post(
        f"/patients/{created}/assessments/spasticity",
        {
            "date": "2023-02-25",
            "mas": [{"muscle": "hamstrings", "side": "L", "grade": "1+"}],
            "tardieu": [
                {"muscle": "hamstrings", "side": "left", "r1_deg": -70, "r2_deg": -50, "quality": 2}
            ],
        },
    )
    assert r.status_code == 201, r.content
    t = c.get(f"/patients/{created}/trajectory").json()
    (adm,) = t["administrations"]
    assert adm["gmfcs"] == "III" and adm["baseline"]["score"] == 40
    (row,) = adm["follow_up"]
    assert row["observed_change"] == 6 and row["expected_anchored"] < row["expected_population"]
    h = c.get(f"/patients/{created}/history").json()
    assert {e["record"] for e in h} >= {
        "patient",
        "administration",
        "spasticity assessment",
        "GMFM-66 assessment",
    }
    assert all(e["user"] == "clara" for e in h)
    s = c.get(f"/patients/{created}/schedule").json()
    assert [v["visit"] for v in s][:2] == ["baseline", "1 month"] and s[0]["status"] == "done"


@pytest.mark.parametrize(
    ("path", "body", "field", "text"),
    [
        (
            "/patients",
            {"study_id": "LUB-002", "birth_date": "2999-01-01", "sex": "F"},
            "birth_date",
            "future",
        ),
        (
            "/patients",
            {"study_id": "LUB-002", "birth_date": "2019-13-01", "sex": "F"},
            "birth_date",
            "valid date",
        ),
        (
            "/patients",
            {"study_id": "LUB-002", "birth_date": "2019-01-01", "sex": "Q"},
            "sex",
            "not a valid choice",
        ),
        ("/patients", {"study_id": "LUB-002", "birth_date": "2019-01-01"}, "sex", "Field required"),
        (
            "/patients",
            {"study_id": "LUB-001", "birth_date": "2019-01-01", "sex": "F"},
            "study_id",
            "already used",
        ),
        (
            "/patients",
            {**MINIMAL_PATIENT, "name": "Jane"},
            "name",
            "Extra inputs are not permitted",
        ),
        (
            "/patients/{id}/assessments/gmfm",
            {"date": "2024-05-01", "items": {"23": 4}},
            "items",
            "GMFM item 23 score 4",
        ),
        (
            "/patients/{id}/assessments/gmfm",
            {"date": "2018-05-01", "items": {"1": 1}},
            "date",
            "before the child's birth",
        ),
        (
            "/patients/{id}/assessments/gmfm",
            {"date": "2024-05-01", "items": {"89": 1}},
            "items",
            "does not exist",
        ),
        ("/patients/{id}/adverse-events", {**AE, "grade": 7}, "grade", "1 to 5"),
        (
            "/patients/{id}/adverse-events",
            {**AE, "resolution_date": "2024-05-01"},
            "resolution_date",
            "before its onset",
        ),
        (
            "/patients/{id}/adverse-events",
            {**AE, "relatedness": "maybe"},
            "relatedness",
            "not a valid choice",
        ),
        (
            "/patients/{id}/administrations",
            {
                "date": "2023-03-01",
                "product": "ucb",
                "origin": "allogeneic",
                "route": "intravenous",
                "cell_count": "5e7",
                "weight_kg": 15000,
            },
            "weight_kg",
            "looks like grams",
        ),
        (
            "/patients/{id}/administrations",
            {
                "date": "2023-03-01",
                "product": "ucb",
                "origin": "allogeneic",
                "route": "intravenous",
                "cell_count": "5e12",
                "weight_kg": 15,
            },
            "cell_count",
            "100-fold outside",
        ),
        (
            "/patients/{id}/administrations",
            {
                "date": "2023-03-01",
                "product": "ucb",
                "origin": "allogeneic",
                "route": "intravenous",
                "cell_count": "lots",
                "weight_kg": 15,
            },
            "cell_count",
            "not a number of cells",
        ),
        (
            "/patients/{id}/assessments/spasticity",
            {"date": "2024-05-01", "mas": [{"muscle": "toe", "side": "left", "grade": "1"}]},
            "mas",
            "muscle group",
        ),
        ("/patients/{id}/assessments/spasticity", {"date": "2024-05-01"}, "mas", "at least one"),
    ],
)
def test_invalid_input_gives_field_errors_not_500(api, created, path, body, field, text):
    r = api("clin").post(path.format(id=created), body)
    assert r.status_code == 422, r.content
    errors = r.json()["errors"]
    assert field in errors, errors
    assert text in " ".join(errors[field])


@pytest.mark.parametrize(
    ("system", "level", "message"),
    [
        ("macs", "VI", "MACS level 'VI' is not valid: use I, II, III, IV or V (or 1-5)"),
        ("cfcs", 7, "CFCS level 7 is not valid: use I, II, III, IV or V (or 1-5)"),
        ("gmfcs", "0", "GMFCS level '0' is not valid: use I, II, III, IV or V (or 1-5)"),
    ],
)
def test_classification_level_error_names_its_system(api, created, system, level, message):
    r = api("clin").post(
        f"/patients/{created}/classifications",
        {"date": "2024-01-03", "system": system, "level": level},
    )
    assert r.status_code == 422, r.content
    assert r.json()["errors"] == {"level": [message]}
    assert r.json()["codes"] == {"level": ["invalid_choice"]}


def test_classification_level_takes_its_system_prefix(api, created):
    r = api("clin").post(
        f"/patients/{created}/classifications",
        {"date": "2024-01-03", "system": "macs", "level": "MACS II"},
    )
    assert r.status_code == 201, r.content
    assert Patient.objects.get(pk=created).classification_set.get().level == 2


def test_malformed_json_is_4xx(api, created):
    c = api("clin")
    r = c.client.post(
        f"/api/v1/patients/{created}/adverse-events",
        "{not json",
        content_type="application/json",
        headers=c.headers,
    )
    assert 400 <= r.status_code < 500


def test_no_token_is_401_and_bad_token_too(api, created):
    assert api().get("/patients").status_code == 401
    from tests.factories import Api

    assert Api(token="cps_wrong").get(f"/patients/{created}").status_code == 401


def test_other_site_gets_404(api, created):
    assert api("clin_b").get(f"/patients/{created}").status_code == 404
    assert api("clin_b").post(f"/patients/{created}/adverse-events", AE).status_code == 404
    assert api("clin_b").get(f"/patients/{created}/history").status_code == 404
    assert api("clin_b").get("/patients").json()["count"] == 0


def test_monitor_reads_but_cannot_write(api, created):
    assert api("monitor").get(f"/patients/{created}").status_code == 200
    assert api("monitor").post(f"/patients/{created}/adverse-events", AE).status_code == 403
    assert (
        api("monitor").post("/patients", {**MINIMAL_PATIENT, "study_id": "LUB-009"}).status_code
        == 403
    )


def test_researcher_is_pseudonymised(api, created):
    r = api("researcher").get(f"/patients/{created}").json()
    assert r["study_id"] is None and r["birth_date"] is None and r["research_id"].startswith("R")
    assert api("researcher").get(f"/patients/{created}/history").status_code == 403
    t = api("researcher").get(f"/patients/{created}/trajectory").json()
    assert "date" not in str(t.keys())
    assert api("researcher").post(f"/patients/{created}/adverse-events", AE).status_code == 403


def test_list_filters_and_pagination(api, created):
    c = api("clin")
    for i in range(3):
        assert (
            c.post(
                "/patients", {"study_id": f"LUB-01{i}", "birth_date": "2020-01-01", "sex": "M"}
            ).status_code
            == 201
        )
    r = c.get("/patients?limit=2&offset=0").json()
    assert r["count"] == 4 and len(r["items"]) == 2
    assert c.get("/patients?q=LUB-011").json()["count"] == 1
    r = c.get("/patients?gmfcs=VI")
    assert r.status_code == 422 and "gmfcs" in r.json()["errors"]


def test_openapi_schema_lists_the_endpoints(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in (
        "/api/v1/patients",
        "/api/v1/patients/{pk}",
        "/api/v1/patients/{pk}/assessments/gmfm",
        "/api/v1/patients/{pk}/assessments/spasticity",
        "/api/v1/patients/{pk}/administrations",
        "/api/v1/patients/{pk}/adverse-events",
        "/api/v1/patients/{pk}/trajectory",
        "/api/v1/patients/{pk}/history",
    ):
        assert p in paths, p
    assert r.json()["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_runs_on_the_requested_database(db_vendor):
    from django.db import connection

    assert connection.vendor == db_vendor


def test_every_operation_documents_its_error_answers(client):
    """Schemathesis found 400/401/403/404/422 answers the schema did not list."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path, ops in paths.items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"401", "422"} <= codes, (method, path, codes)
            if "{pk}" in path:
                assert "404" in codes, (method, path)
            if method in ("post", "patch", "delete"):
                assert {"400", "403"} <= codes, (method, path)
            if method in ("patch", "delete"):  # a stale If-Match
                assert "412" in codes, (method, path)
            if method == "delete":  # 204, no body
                assert "content" not in op["responses"]["204"], (method, path)
                continue
            # a POST creates (201), except a step of a workflow (a query's answer, close,
            # reopen): 200 with the changed resource
            step = path.endswith(("/answer", "/close", "/reopen"))
            ok = op["responses"]["201" if method == "post" and not step else "200"]
            assert "schema" in ok["content"]["application/json"], (method, path)


def test_history_schedule_and_trajectory_match_their_schemas(api, created):
    c = api("clin")
    c.post(
        f"/patients/{created}/administrations",
        {
            "date": "2023-03-01",
            "product": "ucb",
            "origin": "autologous",
            "route": "intravenous",
            "cell_count": 3e8,
            "weight_kg": 15,
        },
    )
    s = c.get(f"/patients/{created}/schedule").json()
    assert s[0]["date"] == "2023-03-01" and s[0]["visit"] == "baseline"
    h = c.get(f"/patients/{created}/history").json()
    assert {"when", "user", "action", "record", "changes"} <= set(h[0])
    t = c.get(f"/patients/{created}/trajectory").json()
    assert t["administrations"][0]["date"] == "2023-03-01"
    assert "age_months" not in t["administrations"][0]


def test_researcher_gets_no_dates_anywhere_and_the_list_in_research_id_order(api, created):
    c = api("clin")
    for i in range(5):
        c.post("/patients", {"study_id": f"LUB-1{i}", "birth_date": "2020-01-01", "sex": "M"})
    c.post(f"/patients/{created}/assessments/gmfm66", {"date": "2023-02-20", "score": 40})
    c.post(
        f"/patients/{created}/administrations",
        {
            "date": "2023-03-01",
            "product": "ucb",
            "origin": "autologous",
            "route": "intravenous",
            "cell_count": 3e8,
            "weight_kg": 15,
        },
    )
    t = api("researcher").get(f"/patients/{created}/trajectory")
    assert t.status_code == 200
    assert '"date"' not in t.content.decode() and "2023-" not in t.content.decode()
    assert t.json()["administrations"][0]["baseline"]["age_months"] == 46
    items = api("researcher").get("/patients").json()["items"]
    rids = [p["research_id"] for p in items]
    assert rids == sorted(rids) and len(rids) == 6
    assert api("researcher").get(f"/patients/{created}/schedule").status_code == 403


def test_schema_lists_the_allowed_values(client):
    """Fuzzing showed most generated bodies failing on choices the schema did not name."""
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schemas["PatientIn"]["properties"]["sex"]["enum"] == ["F", "M", "U"]
    assert "" in schemas["PatientIn"]["properties"]["subtype"]["enum"]
    assert "ucb" in schemas["AdministrationIn"]["properties"]["product"]["enum"]
    assert schemas["AdverseEventIn"]["properties"]["relatedness"]["enum"][0] == "not_related"
    assert schemas["AdverseEventIn"]["properties"]["grade"]["maximum"] == 5
    assert "physiotherapy" in schemas["RehabIn"]["properties"]["therapy"]["enum"]

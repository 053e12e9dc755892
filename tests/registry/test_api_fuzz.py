"""The REST API fuzzed against its own OpenAPI schema (schemathesis), for every role.

Bounded and deterministic: derandomised Hypothesis, a fixed number of examples per operation,
valid and invalid input, in process (Django's WSGI handler on the test database). Every request
is sent by each role in turn. A response must not be a 5xx, must be documented (status code,
content type, body schema), an invalid request must be refused, and the roles must hold: a
monitor and a researcher never write, a researcher never gets a study ID or a calendar date, a
clinician of another site gets nothing about the patient, and a blinded assessor never gets the
allocation of the (randomised) patient unless it was unblinded. Monitors write only the
monitoring operations (queries, verifications, the randomisation list check); researchers get
none of them.

The lock and signature operations (patient and site lock/unlock, signatures, checks) are fuzzed
like every other: a lock fuzzed by the admin makes the later writes of that run 423
(documented), a fuzzed password is a wrong one (403, counted by the log-in throttling).
"""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from cpstem.registry import users
from cpstem.registry.api import api
from cpstem.registry.api.records import RECORD_PATHS
from cpstem.registry.models import (
    Administration,
    AdverseEvent,
    AllocationSlot,
    ApiToken,
    Classification,
    GMFM66Assessment,
    GMFM88Assessment,
    LabValue,
    Query,
    QueryMessage,
    RehabEpisode,
    SpasticityAssessment,
    Unblinding,
)
from cpstem.registry.services import randomisation as rz
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
ROLES = ("admin", "clin", "monitor", "researcher", "clin_b", "assessor")
#: A monitor's check of the randomisation list records the check, and changes no data.
MONITOR_CHECKS = ("/api/v1/randomisation/verify",)
#: An allocation in an answer: the arm, or the enrolment group of the child.
ALLOCATION = re.compile(r'"(arm|group)":\s*"(cells|control)"')
EXAMPLES = 25  # per operation; x 5 roles

#: The writes of a monitor (and an administrator): open, close, re-open a query; verify a record.
MONITOR_WRITES = {
    "/api/v1/queries",
    "/api/v1/queries/{qid}/close",
    "/api/v1/queries/{qid}/reopen",
    "/api/v1/verifications",
}
MONITORING = ("/api/v1/queries", "/api/v1/verifications", "/api/v1/sdv")

OPERATIONS = [
    (method.upper(), path)
    for path, ops in api.get_openapi_schema()["paths"].items()
    for method in ops
]


@pytest.fixture
def in_process():
    """Call the app like Django's test client: the test's connection (and its transaction)
    stays open between requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
        # a refusal the schema cannot express as a type: 412, an If-Match that is not the
        # record's current ETag (a fuzzed header value) -- it is a rejection too
        rejection = schema.config.checks.negative_data_rejection
        rejection.expected_statuses = [*rejection.expected_statuses, "412"]
        yield schema
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _role_rules(role: str, case, response, patient) -> None:
    method, status, body = case.method.upper(), response.status_code, response.text
    where = f"{role}: {method} {case.formatted_path} -> {status}"
    read_only = role in ("monitor", "researcher", "assessor")
    allowed = role == "monitor" and (case.path in MONITOR_WRITES or case.path in MONITOR_CHECKS)
    if read_only and not allowed and method in ("POST", "PATCH", "DELETE"):
        assert status not in (200, 201, 204), f"read-only role wrote ({where})"
    if role == "researcher" and case.path.startswith(MONITORING):
        assert status not in (200, 201, 204), f"a researcher reached monitoring ({where})"
    if role == "clin_b" and case.path.startswith(MONITORING) and status in (200, 201):
        assert f'"patient_id":{patient.pk}' not in body.replace(" ", ""), where
        assert f'"record_id":{patient.pk}' not in body.replace(" ", ""), where
    if role == "assessor" and status == 200 and not Unblinding.objects.exists():
        assert not ALLOCATION.search(body), f"a blinded assessor saw the allocation ({where})"
    if role == "researcher" and status == 200:
        assert patient.study_id not in body, where
        assert patient.birth_date.isoformat() not in body, where
        assert '"date"' not in body, where
        if case.path == "/api/v1/patients":
            assert all(p["study_id"] is None for p in json.loads(body)["items"]), where
    if role == "clin_b" and {"pk", "qid"} & set(case.path_parameters or {}):
        assert status in (400, 401, 404, 422), f"another site's patient was reached ({where})"


def _one_of_each(patient) -> dict[type, object]:
    """One record of every kind, for the single-record operations (GET/PATCH/DELETE)."""
    day = "2020-01-10"
    admin = Administration.objects.create(
        patient=patient,
        date=day,
        product="ucb",
        origin="allogeneic",
        route="intravenous",
        cells_total=4.5e8,
        weight_kg=15,
    )
    out = [
        Classification.objects.create(patient=patient, date=day, system="gmfcs", level=3),
        GMFM66Assessment.objects.create(patient=patient, date=day, score=40.0, se=1.5),
        admin,
        RehabEpisode.objects.create(
            patient=patient, date=day, therapy="physiotherapy", hours_per_week=3
        ),
        LabValue.objects.create(patient=patient, date=day, analyte="CRP", value=3.2, unit="mg/L"),
        GMFM88Assessment.objects.create(patient=patient, date=day, items={"1": 3}),
        SpasticityAssessment.objects.create(
            patient=patient, date=day, mas=[{"muscle": "hamstrings", "side": "left", "grade": "1"}]
        ),
        AdverseEvent.objects.create(
            patient=patient,
            date="2020-01-12",
            term="fever",
            grade=1,
            relatedness="possible",
            administration=admin,
        ),
    ]
    return {type(r): r for r in out}


def _query(patient, user) -> Query:
    """An open query on the patient's data, for the operations on one query."""
    q = Query.objects.create(patient=patient, kind="patient", record_id=patient.pk, opened_by=user)
    QueryMessage.objects.create(query=q, action="open", author=user, text="Birth date?")
    return q


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_conforms_to_its_schema_for_every_role(in_process, people, patient, method, path):
    records = _one_of_each(patient)
    people = people | {"assessor": users.create_user("asa", "assessor", "LUB", PASSWORD)}
    scheme = rz.define_scheme("FUZZ", factors=("site", "gmfcs"), reason="fuzz")
    rz.upload(scheme, b"stratum,sequence,arm\nLUB|II,1,cells\nLUB|II,2,control\n", reason="fuzz")
    # the patient is randomised: its group is the allocation (it has cells, so not by the service)
    AllocationSlot.objects.filter(sequence=1).update(patient=patient)
    tokens = {r: ApiToken.objects.issue(people[r], "fuzz")[1] for r in ROLES}
    operation = in_process[path][method]
    params: dict[str, object] = {"pk": patient.pk} if "{pk}" in path else {}
    if "{code}" in path:  # the site lock operations: the patient's own site
        params["code"] = patient.site.code
    if (model := RECORD_PATHS.get(path.removeprefix("/api/v1"))) is not None:
        params["rid"] = records[model].pk  # a single-record operation on a real record
    if "{qid}" in path:
        params["qid"] = _query(patient, people["monitor"]).pk  # a real query of the patient
    fixed = {"path_parameters": params} if params else {}
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, **fixed),
        operation.as_strategy(GenerationMode.NEGATIVE, **fixed),
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        for role in ROLES:  # the same request from every role
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            _role_rules(role, case, response, patient)

    run()

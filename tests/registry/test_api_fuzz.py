"""The REST API fuzzed against its own OpenAPI schema (schemathesis), for every role.

Bounded and deterministic: derandomised Hypothesis, a fixed number of examples per operation,
valid and invalid input, in process (Django's WSGI handler on the test database). Every request
is sent by each role in turn. A response must not be a 5xx, must be documented (status code,
content type, body schema), an invalid request must be refused, and the roles must hold: a
monitor and a researcher never write, a researcher never gets a study ID or a calendar date, a
clinician of another site gets nothing about the patient.
"""

from __future__ import annotations

import json

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

from cpstem.registry.api import api
from cpstem.registry.models import ApiToken, Classification, GMFM66Assessment

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
ROLES = ("admin", "clin", "monitor", "researcher", "clin_b")
EXAMPLES = 25  # per operation; x 5 roles

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
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _role_rules(role: str, case, response, patient) -> None:
    method, status, body = case.method.upper(), response.status_code, response.text
    where = f"{role}: {method} {case.formatted_path} -> {status}"
    if role in ("monitor", "researcher") and method == "POST":
        assert status not in (200, 201), f"read-only role wrote ({where})"
    if role == "researcher" and status == 200:
        assert patient.study_id not in body, where
        assert patient.birth_date.isoformat() not in body, where
        assert '"date"' not in body, where
        if case.path == "/api/v1/patients":
            assert all(p["study_id"] is None for p in json.loads(body)["items"]), where
    if role == "clin_b" and "pk" in (case.path_parameters or {}):
        assert status in (400, 401, 404, 422), f"another site's patient was reached ({where})"


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_conforms_to_its_schema_for_every_role(in_process, people, patient, method, path):
    Classification.objects.create(patient=patient, date="2020-01-10", system="gmfcs", level=3)
    GMFM66Assessment.objects.create(patient=patient, date="2020-01-10", score=40.0, se=1.5)
    tokens = {r: ApiToken.objects.issue(people[r], "fuzz")[1] for r in ROLES}
    operation = in_process[path][method]
    fixed = {"path_parameters": {"pk": patient.pk}} if "{pk}" in path else {}
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

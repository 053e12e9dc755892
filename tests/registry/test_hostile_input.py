"""Hostile and out-of-range input found by fuzzing: a 4xx with a message, never a 500.

Runs on SQLite and, with ``--db=postgresql``, on PostgreSQL (which cannot store NUL characters:
there these inputs used to be 500s).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

AE = {
    "onset_date": "2024-05-02",
    "term": "fever",
    "grade": 2,
    "serious": False,
    "relatedness": "possible",
}


# --- API ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # str.isdigit() is True for '²', then int('²') raised: these were 500s
        ("/assessments/gmfm", {"date": "2024-01-03", "items": {"²": 3}}, "items"),
        ("/assessments/gmfm", {"date": "2024-01-03", "items": {"1": "³"}}, "items"),
        # '٣' (Arabic-Indic three) used to be read as item 3
        ("/assessments/gmfm", {"date": "2024-01-03", "items": {"٣": 3}}, "items"),
        ("/classifications", {"date": "2024-01-03", "system": "gmfcs", "level": "²"}, "level"),
        (
            "/assessments/spasticity",
            {
                "date": "2024-01-03",
                "tardieu": [{"muscle": "hip_adductors", "side": "left", "quality": "²"}],
            },
            "tardieu",
        ),
    ],
)
def test_non_ascii_digits_are_422(api, patient, path, body, field):
    r = api("clin").post(f"/patients/{patient.pk}{path}", body)
    assert r.status_code == 422 and any(field in k for k in r.json()["errors"]), r.content


def test_non_ascii_digit_level_filter_is_422(api, patient):
    r = api("clin").get("/patients?gmfcs=%C2%B9")
    assert r.status_code == 422 and "gmfcs" in r.json()["errors"]

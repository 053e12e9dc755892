"""Headers and error answers a deployment needs (issue 8): CSP and Permissions-Policy on pages,
no-store on the API, JSON 413/400 on the API, the API docs from the registry's own files, the
demo banner."""

from __future__ import annotations

import json
import re

from django.test import Client, override_settings

from cpstem.registry.http_policy import CONTENT_SECURITY_POLICY


def test_pages_have_csp_and_permissions_policy(web, patient):
    for r in (Client().get("/accounts/login/"), web("clin").get(f"/patients/{patient.pk}/")):
        assert r.status_code == 200
        csp = r["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "style-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp and "*" not in csp
        assert "camera=()" in r["Permissions-Policy"]
        assert "geolocation=()" in r["Permissions-Policy"]
        html = r.content.decode()
        # nothing inline that the policy would block
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
        assert " style=" not in html and " onsubmit=" not in html and " onclick=" not in html
    assert CONTENT_SECURITY_POLICY.startswith("default-src 'self'")


def test_api_answers_are_not_stored(api, patient):
    r = api("clin").get(f"/patients/{patient.pk}")
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    assert "Content-Security-Policy" not in r  # JSON, not a page


def test_pages_with_patient_data_are_not_stored(web, patient):
    r = web("clin").get(f"/patients/{patient.pk}/")
    assert "no-store" in r["Cache-Control"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_body_is_json_413_on_api_and_a_page_elsewhere(api, web, people):
    body = {"study_id": "LUB-X", "birth_date": "2019-01-01", "sex": "F", "notes": "x" * 2000}
    r = api("clin").post("/patients", body)
    assert r.status_code == 413
    assert r.json() == {
        "detail": "the request body is larger than the registry accepts (1,000 bytes)",
        "code": "request_too_large",
        "limit_bytes": 1000,
    }
    r = web("clin").post("/patients/new/", {"study_id": "LUB-X", "notes": "x" * 2000})
    assert r.status_code == 413 and r["Content-Type"].startswith("text/html")
    assert "Too large to accept" in r.content.decode()


def test_malformed_json_is_json_400(api):
    client = api("clin")
    r = client.client.post(
        "/api/v1/patients", "{not json", content_type="application/json", headers=client.headers
    )
    assert r.status_code == 400 and r["Content-Type"].startswith("application/json")
    assert "detail" in json.loads(r.content)


def test_api_docs_are_served_from_the_registrys_own_files(db):
    r = Client().get("/api/v1/docs")
    html = r.content.decode()
    assert r.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/ninja/swagger-ui-bundle.js" in sources
    assert "/static/ninja/swagger-ui-init.js" in sources
    assert all(s.startswith("/") for s in sources), sources  # no other origin
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_demo_banner_on_every_page_while_the_demo_is_loaded(web, patient):
    from cpstem.registry import demo

    assert "DEMO registry" not in Client().get("/accounts/login/").content.decode()
    demo.load(1)
    for r in (Client().get("/accounts/login/"), web("clin").get(f"/patients/{patient.pk}/")):
        assert "DEMO registry" in r.content.decode()
    demo.remove()
    assert "DEMO registry" not in Client().get("/accounts/login/").content.decode()

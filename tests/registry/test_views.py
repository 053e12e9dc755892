"""Pages and forms: login required, roles and sites in querysets, forms keep input, XSS."""

from __future__ import annotations

import re
from datetime import date

import pytest

from cpstem.registry.models import AdverseEvent, GMFM88Assessment, Patient

pytestmark = pytest.mark.django_db


def item_post(scores: dict[int, str], **extra) -> dict:
    data = {f"item_{n}": scores.get(n, "NT") for n in range(1, 89)}
    return data | {"date": "2024-05-01", "goal_dimensions": "D,E", "notes": ""} | extra


@pytest.mark.parametrize(
    "url",
    ["/patients/", "/patients/1/", "/dashboard/", "/export.csv", "/patients/1/trajectory.svg"],
)
def test_login_required(client, url):
    r = client.get(url)
    assert r.status_code == 302 and r.url.startswith("/accounts/login/")


def test_patient_list_is_site_separated(web, patient, sites):
    Patient.objects.create(site=sites[1], study_id="KRK-001", birth_date=date(2018, 1, 1), sex="M")
    html = web("clin").get("/patients/").content.decode()
    assert "LUB-001" in html and "KRK-001" not in html
    html = web("clin_b").get("/patients/").content.decode()
    assert "KRK-001" in html and "LUB-001" not in html
    html = web("admin").get("/patients/").content.decode()
    assert "KRK-001" in html and "LUB-001" in html


def test_other_sites_patient_is_404_everywhere(web, patient):
    c = web("clin_b")
    for url in (
        f"/patients/{patient.pk}/",
        f"/patients/{patient.pk}/trajectory.svg",
        f"/patients/{patient.pk}/history/",
        f"/patients/{patient.pk}/gmfm88/new/",
    ):
        assert c.get(url).status_code == 404, url
    assert c.post(f"/patients/{patient.pk}/ae/new/", {"term": "x"}).status_code == 404


def test_monitor_reads_but_cannot_edit(web, patient):
    c = web("monitor")
    r = c.get(f"/patients/{patient.pk}/")
    assert r.status_code == 200 and b"+ GMFM-88" not in r.content and b"Edit child" not in r.content
    assert c.get(f"/patients/{patient.pk}/gmfm88/new/").status_code == 403
    assert c.post(f"/patients/{patient.pk}/gmfm88/new/", item_post({1: "3"})).status_code == 403
    assert c.get("/patients/new/").status_code == 403
    assert not GMFM88Assessment.objects.exists()


def test_researcher_sees_research_ids_and_ages_only(web, patient):
    html = web("researcher").get("/patients/").content.decode()
    assert patient.research_id in html and "LUB-001" not in html
    html = web("researcher").get(f"/patients/{patient.pk}/").content.decode()
    assert "LUB-001" not in html and "2019-04-02" not in html and patient.research_id in html
    assert web("researcher").get(f"/patients/{patient.pk}/history/").status_code == 403


def test_gmfm88_form_saves_scores_and_shows_them(web, patient):
    c = web("clin")
    r = c.get(f"/patients/{patient.pk}/gmfm88/new/")
    assert r.status_code == 200 and r.content.count(b'type="radio"') == 88 * 5
    r = c.post(
        f"/patients/{patient.pk}/gmfm88/new/",
        item_post({1: "3", 2: "3", 23: "2", 52: "0"}),
        follow=True,
    )
    assert r.status_code == 200
    sheet = GMFM88Assessment.objects.get()
    assert sheet.items["52"] == 0 and sheet.items["53"] is None  # a true 0 is not NT
    html = r.content.decode()
    assert f"{6 / 51 * 100:.1f}" in html and f"{sheet.total:.1f}" in html
    assert sheet.assessor.username == "clara"


def test_invalid_form_keeps_values_and_names_the_field(web, patient):
    c = web("clin")
    r = c.post(
        f"/patients/{patient.pk}/administration/new/",
        {
            "date": "2023-03-01",
            "product": "ucb",
            "origin": "allogeneic",
            "route": "intravenous",
            "cell_count": "5 x 10^7",
            "cell_count_unit": "total",
            "weight_kg": "15000",
            "lot": "LOT-77",
        },
    )
    assert r.status_code == 200
    html = r.content.decode()
    assert "looks like grams" in html and 'value="LOT-77"' in html and 'value="5 x 10^7"' in html
    r = c.post(f"/patients/{patient.pk}/gmfm88/new/", item_post({1: "3"}, date="2018-01-01"))
    html = r.content.decode()
    assert "before the child&#x27;s birth" in html
    assert re.search(r'<input[^>]*id="id_item_1_3"[^>]*checked', html)


def test_administration_per_kg_entry(web, patient):
    c = web("clin")
    r = c.post(
        f"/patients/{patient.pk}/administration/new/",
        {
            "date": "2023-03-01",
            "product": "ucb",
            "origin": "allogeneic",
            "route": "intravenous",
            "cell_count": "3e7",
            "cell_count_unit": "per_kg",
            "weight_kg": "15",
        },
    )
    assert r.status_code == 302
    a = patient.administration_set.get()
    assert a.cells_total == pytest.approx(4.5e8) and a.dose_cells_per_kg == pytest.approx(3e7)


def test_xss_payload_is_escaped(web, patient):
    payload = '<script>alert("x")</script>'
    AdverseEvent.objects.create(
        patient=patient,
        date=date(2024, 5, 2),
        term=payload,
        grade=1,
        serious=False,
        relatedness="possible",
    )
    html = web("clin").get(f"/patients/{patient.pk}/").content.decode()
    assert payload not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    html = web("clin").get(f"/patients/{patient.pk}/history/").content.decode()
    assert payload not in html


def test_trajectory_chart_is_svg(web, patient):
    r = web("clin").get(f"/patients/{patient.pk}/trajectory.svg")
    assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml" and b"<svg" in r.content


def test_delete_keeps_history(web, patient):
    ae = AdverseEvent.objects.create(
        patient=patient,
        date=date(2024, 5, 2),
        term="fever",
        grade=1,
        serious=False,
        relatedness="possible",
    )
    c = web("clin")
    # a delete asks for the reason (GCP): without one nothing is deleted
    r = c.post(f"/patients/{patient.pk}/ae/{ae.pk}/delete/")
    assert r.status_code == 200 and AdverseEvent.objects.exists()
    assert [e.code for e in r.context["form"].errors.as_data()["reason"]] == ["required"]
    r = c.post(f"/patients/{patient.pk}/ae/{ae.pk}/delete/", {"reason": "entered twice"})
    assert r.status_code == 302
    assert not AdverseEvent.objects.exists()
    html = c.get(f"/patients/{patient.pk}/history/").content.decode()
    assert "deleted" in html and "fever" in html and "entered twice" in html


def test_create_patient_goes_to_own_site(web, sites):
    r = web("clin").post(
        "/patients/new/", {"study_id": "LUB-100", "birth_date": "2020-02-02", "sex": "M"}
    )
    assert r.status_code == 302
    assert Patient.objects.get(study_id="LUB-100").site.code == "LUB"


def test_dashboard_and_export(web, patient):
    assert web("clin").get("/dashboard/").status_code == 200
    assert web("clin").get("/export.csv").status_code == 403
    r = web("researcher").get("/export.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")


def test_researcher_list_is_in_research_id_order_and_hides_the_consent_version(web, patient, sites):
    """Listed in study-ID order, sequential study IDs could be read off the research IDs."""
    for i in range(2, 8):
        Patient.objects.create(
            site=sites[0], study_id=f"LUB-00{i}", birth_date=date(2020, 1, 1), sex="F"
        )
    Patient.objects.filter(pk=patient.pk).update(
        consent_date=date(2020, 1, 1), consent_version="v3-free-text"
    )
    html = web("researcher").get("/patients/").content.decode()
    shown = re.findall(r">(R[0-9A-F]{10})<", html)
    assert len(shown) == 7 and shown == sorted(shown)
    html = web("researcher").get(f"/patients/{patient.pk}/").content.decode()
    assert "v3-free-text" not in html
    assert "v3-free-text" in web("clin").get(f"/patients/{patient.pk}/").content.decode()

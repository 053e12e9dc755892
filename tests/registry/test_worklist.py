"""The work-list of follow-up visits (page and API), e-mail reminders delivered to a real local
SMTP server, and the iCalendar feed (parsed by the ``icalendar`` package).

Today is fixed at 2025-03-10. The default schedule (outcomes/data/schedule.toml) puts the
12-month visit of cells given on 2024-03-01 on 2025-03-01, window 30 days either side
(2025-01-30 to 2025-03-31): overdue by 9 days. The 6-month visit of cells given on 2024-09-15 is
on 2025-03-15, window 2025-02-13 to 2025-04-14: due in 5 days. All other visits of these children
are missed (window closed) or more than 14 days ahead.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import icalendar
import pytest
from django.test import Client
from django.utils import timezone

from cpstem.registry import users
from cpstem.registry.models import (
    Administration,
    ApiToken,
    GMFM66Assessment,
    Patient,
)
from cpstem.registry.services import worklist
from tests.factories import PASSWORD
from tests.registry.smtp_helpers import smtp_server

pytestmark = pytest.mark.django_db

TODAY = date(2025, 3, 10)


@pytest.fixture
def fixed_today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)
    return TODAY


def _save(obj):
    obj.full_clean()
    obj.save()
    return obj


def _child(site, study_id: str, cells: date, **extra) -> Patient:
    p = _save(Patient(site=site, study_id=study_id, birth_date=date(2019, 5, 4), sex="F", **extra))
    _save(
        Administration(
            patient=p,
            date=cells,
            product="ucb",
            origin="allogeneic",
            hla_match="5/6",
            cells_total=4.5e8,
            weight_kg=15.0,
            route="intravenous",
        )
    )
    return p


@pytest.fixture
def children(sites, people, fixed_today):
    lub, krk = sites
    out = {
        "W1": _child(lub, "LUB-W1", date(2024, 3, 1)),
        "W2": _child(lub, "LUB-W2", date(2024, 9, 15)),
        "W3": _child(krk, "KRK-W3", date(2024, 9, 12)),
        # consent withdrawn: not on the work-list
        "W4": _child(
            lub,
            "LUB-W4",
            date(2024, 9, 15),
            consent_date=date(2024, 9, 1),
            consent_version="v2",
            consent_withdrawn_date=date(2025, 1, 5),
        ),
        # 6-month visit 2025-03-10 done on 2025-03-05 (inside its window)
        "W5": _child(lub, "LUB-W5", date(2024, 9, 10)),
    }
    _save(GMFM66Assessment(patient=out["W5"], date=date(2025, 3, 5), score=50.0, se=1.5))
    users.set_email("clara", "clara@lub.example")
    users.set_email("bob", "bob@krk.example")
    users.set_email("moni", "moni@lub.example")  # a monitor: no reminders
    return out


def _rows(rows):
    return [(r.study_id, r.visit, r.target_date, r.status, r.days_from_today) for r in rows]


W1 = ("LUB-W1", "12 months", date(2025, 3, 1), "overdue", -9)
W2 = ("LUB-W2", "6 months", date(2025, 3, 15), "due", 5)
W3 = ("KRK-W3", "6 months", date(2025, 3, 12), "due", 2)


def test_worklist_service_hand_worked(children, sites):
    lub = [sites[0].pk]
    assert _rows(worklist.items(lub, TODAY, 14)) == [W1, W2]
    assert _rows(worklist.items(lub, TODAY, 4)) == [W1]  # W2 is 5 days ahead
    assert _rows(worklist.items(lub, TODAY, 5)) == [W1, W2]
    assert _rows(worklist.items(None, TODAY, 14)) == [W1, W3, W2]
    (r,) = worklist.items(lub, TODAY, 0)
    assert (r.window_start, r.window_end) == (date(2025, 1, 30), date(2025, 3, 31))
    # the day after its window closes (2025-03-31) W1's visit is missed and leaves the list;
    # W2's is then 17 days overdue (2025-04-01 - 2025-03-15)
    assert _rows(worklist.items(lub, date(2025, 4, 1), 0)) == [
        ("LUB-W2", "6 months", date(2025, 3, 15), "overdue", -17)
    ]
    with pytest.raises(worklist.RegistryError) as err:
        worklist.items(lub, TODAY, 367)
    assert err.value.code == "out_of_range" and err.value.field == "days"


def test_worklist_page_per_role(children, web):
    html = web("clin").get("/worklist/").content.decode()
    assert "1 overdue, 1 due in the next 14 days" in html
    assert "LUB-W1" in html and "LUB-W2" in html and "overdue 9 d" in html
    assert "KRK-W3" not in html and "LUB-W4" not in html and "LUB-W5" not in html
    assert "2025-03-15" in html and "2025-02-13 – 2025-04-14" in html
    html = web("clin").get("/worklist/?days=4").content.decode()
    assert "1 overdue, 0 due in the next 4 days" in html and "LUB-W2" not in html
    assert web("clin").get("/worklist/?site=KRK").status_code == 404  # not the clinician's
    bad = web("clin").get("/worklist/?days=many").content.decode()
    assert "days must be a whole number from 0 to 366" in bad and "LUB-W1" in bad
    html = web("monitor").get("/worklist/").content.decode()
    assert "LUB-W1" in html and "KRK-W3" not in html
    html = web("admin").get("/worklist/").content.decode()
    assert "Site KRK" in html and "Site LUB" in html and "KRK-W3" in html
    html = web("admin").get("/worklist/?site=krk").content.decode()
    assert "KRK-W3" in html and "LUB-W1" not in html
    r = web("researcher").get("/worklist/")
    assert r.status_code == 403 and "not part of the pseudonymised research view" in (
        r.content.decode()
    )
    assert "Work-list" in web("clin").get("/patients/").content.decode()
    assert ">Work-list<" not in web("researcher").get("/patients/").content.decode()


def test_worklist_api(children, api):
    body = api("clin").get("/worklist").json()
    assert (body["on"], body["days"], body["overdue"], body["due"]) == ("2025-03-10", 14, 1, 1)
    assert [
        (i["study_id"], i["visit"], i["date"], i["status"], i["days_from_today"])
        for i in body["items"]
    ] == [
        ("LUB-W1", "12 months", "2025-03-01", "overdue", -9),
        ("LUB-W2", "6 months", "2025-03-15", "due", 5),
    ]
    assert body["items"][0]["window_end"] == "2025-03-31"
    assert body["items"][0]["administration_date"] == "2024-03-01"
    assert [i["study_id"] for i in api("admin").get("/worklist?days=2").json()["items"]] == [
        "LUB-W1",
        "KRK-W3",
    ]
    assert api("clin_b").get("/worklist?site=LUB").status_code == 404
    r = api("clin").get("/worklist?days=400")
    assert r.status_code == 422 and r.json()["errors"]["days"] == [
        "days must be a whole number from 0 to 366, not 400"
    ]
    # a misspelt parameter is refused, not ignored (here and on the patient list)
    r = api("clin").get("/worklist?dayz=3")
    assert r.status_code == 422 and r.json()["codes"] == {"dayz": ["unknown_parameter"]}
    r = api("clin").get("/patients?sitee=KRK")
    assert r.status_code == 422 and r.json()["errors"]["sitee"] == [
        "unknown query parameter 'sitee' (allowed: gmfcs, limit, offset, q, site)"
    ]
    r = api("researcher").get("/worklist")
    assert r.status_code == 403 and "pseudonymised" in r.json()["detail"]
    assert api().get("/worklist").status_code == 401


LUB_BODY = [
    "Follow-up visits of site LUB (Lublin) on 2025-03-10: 1 overdue, 1 due in the next 14 days.",
    "",
    "Overdue:",
    "  LUB-W1  12 months (cells 2024-03-01)  target 2025-03-01 (overdue by 9 d), "
    "window 2025-01-30 to 2025-03-31",
    "",
    "Due in the next 14 days:",
    "  LUB-W2  6 months (cells 2024-09-15)  target 2025-03-15 (in 5 d), "
    "window 2025-02-13 to 2025-04-14",
    "",
]


def test_reminders_are_delivered_to_each_sites_clinicians_over_smtp(children, people, settings):
    users.create_user("old", "clinician", "LUB", PASSWORD, email="old@lub.example")
    users.deactivate("old")
    with smtp_server() as (sink, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.DEFAULT_FROM_EMAIL = "Registry <registry@clinic.example>"
        sent = worklist.send_reminders(worklist.reminders(TODAY, 14))
    assert sent == 2
    by_site = {m.rcpt_tos[0]: m for m in sink.messages}
    assert set(by_site) == {"clara@lub.example", "bob@krk.example"}
    lub = by_site["clara@lub.example"]
    assert lub.rcpt_tos == ["clara@lub.example"] and lub.mail_from == "registry@clinic.example"
    assert lub.message["Subject"] == "cpstem LUB: 1 overdue, 1 due in 14 days"
    assert lub.message["From"] == "Registry <registry@clinic.example>"
    text = lub.message.get_content()
    assert text.splitlines()[: len(LUB_BODY)] == LUB_BODY
    assert "2019-05-04" not in text and "KRK-W3" not in text  # no birth date, no other site
    krk = by_site["bob@krk.example"].message.get_content()
    assert "  KRK-W3  6 months (cells 2024-09-12)  target 2025-03-12 (in 2 d)" in krk


def test_reminders_without_an_smtp_server_say_what_to_set(children, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""
    with pytest.raises(worklist.RegistryError) as err:
        worklist.send_reminders(worklist.reminders(TODAY, 14))
    assert err.value.code == "no_smtp" and "CPSTEM_SMTP_HOST" in err.value.message


def _feed_url(client: Client) -> str:
    html = client.post("/worklist/calendar/").content.decode()
    m = re.search(r'<code id="calendar-url"[^>]*>([^<]+)</code>', html)
    assert m, html
    return m.group(1).replace("http://testserver", "")


def test_ical_feed_is_valid_pseudonymised_and_per_site(children, web, people):
    url = _feed_url(web("clin"))
    assert re.fullmatch(r"/calendar/cal_[A-Za-z0-9_-]{43}\.ics", url)
    r = Client().get(url)  # a calendar app: no session
    assert r.status_code == 200 and r["Content-Type"] == "text/calendar; charset=utf-8"
    raw = r.content
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    cal = icalendar.Calendar.from_ical(raw)
    assert str(cal["VERSION"]) == "2.0" and str(cal["X-WR-CALNAME"]) == (
        "cpstem follow-up visits (LUB)"
    )
    events = sorted(cal.walk("VEVENT"), key=lambda e: e.decoded("DTSTART"))
    assert [(str(e["SUMMARY"]), e.decoded("DTSTART"), e.decoded("DTEND")) for e in events] == [
        ("LUB-W1: 12 months visit (LUB)", date(2025, 3, 1), date(2025, 3, 2)),
        ("LUB-W2: 6 months visit (LUB)", date(2025, 3, 15), date(2025, 3, 16)),
    ]  # W2's 12-month visit (2025-09-15) is 189 days ahead: beyond the feed's 180 days
    assert str(events[0]["DESCRIPTION"]) == (
        "Follow-up visit 12 months after the cells of 2024-03-01. Window 2025-01-30 to "
        "2025-03-31. Site LUB. Status overdue."
    )
    assert len({str(e["UID"]) for e in events}) == 2
    assert "2019-05-04" not in raw.decode() and "KRK" not in raw.decode()
    # the same URL again gives the same UIDs (calendar apps update, not duplicate)
    again = icalendar.Calendar.from_ical(Client().get(url).content)
    assert {str(e["UID"]) for e in again.walk("VEVENT")} == {str(e["UID"]) for e in events}


def test_ical_feed_secret_is_revoked_with_the_password(children, web, people):
    url = _feed_url(web("clin"))
    assert Client().get(url).status_code == 200
    assert Client().get(url.replace("cal_", "cal_x")).status_code == 404
    assert Client().get("/calendar/x.ics").status_code == 404
    newer = _feed_url(web("clin"))  # a new address replaces the old one
    assert Client().get(url).status_code == 404 and Client().get(newer).status_code == 200
    users.reset_password("clara")
    assert Client().get(newer).status_code == 404
    assert web("researcher").post("/worklist/calendar/").status_code == 403
    assert not ApiToken.objects.filter(user=people["clin"], revoked=False).exists()


def test_ical_text_escaping_and_folding_round_trip():
    """RFC 5545: TEXT escapes for backslash, semicolon, comma and newline; lines folded at 75
    octets without splitting a UTF-8 character; read back unchanged by ``icalendar``."""
    label = "12 months; Łódź, ward \\ B\nsecond line " + "żółć " * 20
    item = worklist.Item(
        7, "ŁDZ-001", "ŁDZ", label, 12, 3, date(2024, 3, 1), date(2025, 3, 1),
        date(2025, 1, 30), date(2025, 3, 31), "due", 3,
    )  # fmt: skip
    stamp = datetime(2025, 3, 10, 9, 0, 0, tzinfo=timezone.get_fixed_timezone(60))  # 08:00 UTC
    text = worklist.ical([item], "visits, Łódź; all", stamp)
    raw = text.encode("utf-8")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert "SUMMARY:ŁDZ-001: 12 months\\; Łódź\\, ward \\\\ B\\nsecond line" in text.replace(
        "\r\n ", ""
    )
    cal = icalendar.Calendar.from_ical(raw)
    (event,) = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == f"ŁDZ-001: {label} visit (ŁDZ)"
    # an X- property is kept as written by readers: escaped as TEXT
    assert str(cal["X-WR-CALNAME"]) == "visits\\, Łódź\\; all"
    assert "DTSTAMP:20250310T080000Z\r\n" in text
    assert event.decoded("DTSTAMP") == stamp

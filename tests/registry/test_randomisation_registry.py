"""Randomisation in the registry: the concealed list (generated from a seed, or uploaded and
validated), its tamper-evident hash, randomising eligible children (atomically, also under
concurrency on SQLite and PostgreSQL), blinding per role, audited unblinding, and the
blinded-assessor flag on assessments."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta

import pytest

from cpstem.design.randomisation import randomisation_list
from cpstem.outcomes.dates import add_months
from cpstem.registry import users
from cpstem.registry.clock import today
from cpstem.registry.errors import FieldErrors
from cpstem.registry.models import (
    Administration,
    AllocationSlot,
    Classification,
    GMFM66Assessment,
    Patient,
    RandomisationEvent,
    Unblinding,
)
from cpstem.registry.models.randomisation import ConcealedSeed, EventKind
from cpstem.registry.services import randomisation as rz
from tests.factories import PASSWORD, Api

pytestmark = pytest.mark.django_db

CHECKLIST = {"inclusion": True, "exclusion": True, "baseline": True}
#: A hand-written list: two strata of the LUB site, four slots each.
HAND_LIST = (
    "stratum,sequence,arm\n"
    "LUB|I-II,1,cells\n"
    "LUB|I-II,2,control\n"
    "LUB|I-II,3,control\n"
    "LUB|I-II,4,cells\n"
    "LUB|III-V,1,control\n"
    "LUB|III-V,2,cells\n"
    "LUB|III-V,3,cells\n"
    "LUB|III-V,4,control\n"
)


def _scheme(admin, **kw):
    args = {
        "factors": ("site", "gmfcs"),
        "gmfcs_bands": {"I-II": [1, 2], "III-V": [3, 4, 5]},
        "sites": ["LUB"],
        "block_sizes": (2, 4),
        "per_stratum": 4,
        "by": admin,
        "reason": "protocol v1.0",
    } | kw
    return rz.define_scheme("CELLS-CP", **args)


def _child(site, study_id: str, level: int = 2, consent: bool = True, born: date | None = None):
    p = Patient(
        site=site,
        study_id=study_id,
        birth_date=born or date(2019, 4, 2),
        sex="F",
        consent_date=date(2024, 1, 5) if consent else None,
        consent_version="1.0" if consent else "",
    )
    p.full_clean()
    p.save()
    Classification.objects.create(patient=p, date=date(2024, 1, 5), system="gmfcs", level=level)
    return p


def _assessor(sites):
    return users.create_user("asa", "assessor", "LUB", PASSWORD)


# --- the list -------------------------------------------------------------------------------


def test_generated_list_is_the_seeded_design_and_the_seed_stays_concealed(people, sites):
    s = _scheme(people["admin"])
    made = rz.generate(s, seed=987654321, by=people["admin"], reason="list for protocol v1.0")
    design = randomisation_list(
        ("cells", "control"),
        4,
        block_sizes=(2, 4),
        ratio=(1, 1),
        strata={"site": ["LUB"], "gmfcs": ["I-II", "III-V"]},
        seed=987654321,
    )
    stored = list(
        AllocationSlot.objects.order_by("stratum", "sequence").values_list(
            "stratum", "sequence", "arm"
        )
    )
    assert stored == sorted((k, q, a) for k, q, _, _, a in design.entries)
    assert made.design_sha256 == design.sha256
    # every block of the stored list holds as many cells as controls (ratio 1:1)
    for k, _q, b, size, _ in design.entries:
        block = [a for k2, _, b2, _, a in design.entries if (k2, b2) == (k, b)]
        assert len(block) == size and block.count("cells") == block.count("control")
    # the recorded list hash is the SHA-256 of its canonical text
    s.refresh_from_db()
    assert s.list_sha256 == hashlib.sha256(rz.canonical(s).encode()).hexdigest()
    assert ConcealedSeed.objects.get(scheme=s).seed == 987654321
    # the seed is in no status answer, no event and not in the scheme's audit trail
    shown = json.dumps(rz.status(s), default=str)
    shown += json.dumps([e.detail for e in RandomisationEvent.objects.all()])
    assert "987654321" not in shown
    assert not hasattr(s.history.model, "seed")
    event = RandomisationEvent.objects.get(kind=EventKind.GENERATED)
    assert (event.by, event.reason) == (people["admin"], "list for protocol v1.0")
    # a concealed list is never replaced
    with pytest.raises(FieldErrors) as exc:
        rz.generate(s, seed=1, by=people["admin"], reason="again")
    assert exc.value.codes == {"list": ["list_exists"]}


def test_verify_detects_a_changed_slot_and_a_swap_that_keeps_the_counts(people, sites):
    s = _scheme(people["admin"])
    rz.generate(s, seed=11, by=people["admin"], reason="v1")
    assert rz.verify(s, by=people["admin"], reason="monthly check").ok
    slots = list(AllocationSlot.objects.filter(stratum="LUB|I-II").order_by("sequence"))
    a, b = next((x, y) for x in slots for y in slots if x.arm != y.arm)
    # swap two arms of one stratum: the counts stay, the hash does not
    AllocationSlot.objects.filter(pk=a.pk).update(arm=b.arm)
    AllocationSlot.objects.filter(pk=b.pk).update(arm=a.arm)
    s.refresh_from_db()
    res = rz.verify(s, by=people["admin"], reason="monthly check")
    assert not res.ok
    assert res.computed_sha256 != res.recorded_sha256
    assert any("regenerated from the seed" in p for p in res.problems)
    s.refresh_from_db()
    assert s.verified_ok is False
    failed = RandomisationEvent.objects.get(kind=EventKind.VERIFY_FAILED)
    assert failed.by == people["admin"] and failed.detail["problems"]
    # the monitor may verify too; a clinician may not
    assert not rz.verify(s, by=people["monitor"]).ok
    with pytest.raises(Exception, match="only admin or monitor"):
        rz.verify(s, by=people["clin"])


def test_uploaded_list_hash_and_verification_against_the_file(people, sites):
    s = _scheme(people["admin"])
    made = rz.upload(s, HAND_LIST.encode(), by=people["admin"], reason="list from the CTU")
    assert made.slots == 8 and made.strata == 2
    assert made.upload_sha256 == hashlib.sha256(HAND_LIST.encode()).hexdigest()
    s.refresh_from_db()
    assert rz.verify(s, file=HAND_LIST.encode(), by=people["admin"]).ok
    other = HAND_LIST.replace("LUB|I-II,4,cells", "LUB|I-II,4,control").encode()
    res = rz.verify(s, file=other, by=people["admin"])
    assert not res.ok and "not the uploaded one" in res.problems[0]
    AllocationSlot.objects.filter(stratum="LUB|III-V", sequence=1).update(arm="cells")
    assert not rz.verify(s, by=people["admin"]).ok


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            "stratum,sequence,arm\nLUB|I-II,1,cells\nLUB|I-II,x,control\nLUB|I-II,2,placebo\n",
            [(3, "sequence", "not_a_number"), (4, "arm", "unknown_arm")],
        ),
        (
            "stratum,sequence,arm\nLUB|I-II,1,cells\nLUB|I-II,1,control\n",
            [(3, "sequence", "duplicate")],
        ),
        ("stratum,sequence,arm\nKRK|I-II,1,cells\n", [(2, "stratum", "unknown_stratum")]),
        ("stratum,seq,arm\nLUB|I-II,1,cells\n", [(1, "sequence", "missing_column")]),
        ("stratum,sequence,arm\nLUB|I-II,1\n", [(2, "-", "malformed")]),
        ("stratum,sequence,arm\nLUB|I-II,1,cells\nLUB|I-II,3,control\n", [(3, "sequence", "gap")]),
        ("", [(1, "-", "empty")]),
        ("stratum,sequence,arm\n", [(2, "-", "empty")]),
    ],
)
def test_a_malformed_list_is_refused_naming_line_and_column(people, sites, text, problems):
    s = _scheme(people["admin"])
    with pytest.raises(rz.ListFileError) as exc:
        rz.upload(s, text.encode(), by=people["admin"], reason="upload")
    assert [(p["line"], p["column"], p["code"]) for p in exc.value.problems] == problems
    line, column, _ = problems[0]
    assert f"line {line}, column {column}" in exc.value.message
    assert not AllocationSlot.objects.exists()  # nothing half-written


def test_a_file_that_is_not_utf8_names_its_line(people, sites):
    s = _scheme(people["admin"])
    with pytest.raises(rz.ListFileError) as exc:
        rz.upload(s, b"stratum,sequence,arm\nLUB|I-II,1,c\xe9lls\n", by=people["admin"],
                  reason="x")  # fmt: skip
    assert exc.value.problems[0]["line"] == 2 and exc.value.problems[0]["code"] == "encoding"


def test_only_an_administrator_generates_or_uploads(people, sites):
    s = _scheme(people["admin"])
    for role in ("clin", "monitor", "researcher"):
        with pytest.raises(Exception, match="only admin"):
            rz.upload(s, HAND_LIST.encode(), by=people[role], reason="x")
    with pytest.raises(FieldErrors) as exc:
        rz.generate(s, by=people["admin"], reason="  ")
    assert exc.value.codes == {"reason": ["required"]}


# --- randomising ----------------------------------------------------------------------------


def test_stratum_balance_on_a_hand_checkable_list(people, sites):
    s = _scheme(people["admin"])
    rz.upload(s, HAND_LIST.encode(), by=people["admin"], reason="hand list")
    kids = [_child(sites[0], f"LUB-{i:03d}", level=2) for i in range(1, 5)]
    heavy = _child(sites[0], "LUB-100", level=4)
    arms = [rz.randomise(k, confirmed=CHECKLIST, by=people["clin"]).arm for k in kids]
    assert arms == ["cells", "control", "control", "cells"]  # the list, in order
    assert rz.randomise(heavy, confirmed=CHECKLIST, by=people["clin"]).arm == "control"
    st = rz.status(s)
    counts = {r["stratum"]: (r["allocated"], r["free_slots"]) for r in st["strata_counts"]}
    assert counts == {
        "LUB|I-II": ({"cells": 2, "control": 2}, 0),
        "LUB|III-V": ({"cells": 0, "control": 1}, 3),
    }
    assert st["allocated_total"] == {"cells": 2, "control": 3}
    with pytest.raises(FieldErrors) as exc:
        rz.randomise(_child(sites[0], "LUB-005"), confirmed=CHECKLIST, by=people["clin"])
    assert exc.value.codes == {"list": ["list_exhausted"]}


def test_the_allocation_sets_the_enrolment_group_and_date_with_an_audit_trail(people, sites):
    s = _scheme(people["admin"])
    rz.upload(s, HAND_LIST.encode(), by=people["admin"], reason="hand list")
    first, second = _child(sites[0], "LUB-001"), _child(sites[0], "LUB-002")
    rz.randomise(first, confirmed=CHECKLIST, by=people["clin"])
    slot = rz.randomise(second, confirmed=CHECKLIST, by=people["clin"])
    second.refresh_from_db()
    assert (slot.arm, second.group, second.enrolment_date) == ("control", "control", today())
    assert slot.allocated_by == people["clin"] and slot.eligibility == CHECKLIST
    last = second.history.first()
    assert last.group == "control" and last.history_user == people["clin"]
    assert last.history_change_reason == "randomised (CELLS-CP): stratum LUB|I-II, slot 2"
    ev = RandomisationEvent.objects.get(kind=EventKind.RANDOMISED, patient=second)
    assert ev.by == people["clin"] and ev.detail == {"stratum": "LUB|I-II", "sequence": 2}


def test_eligibility_refusals(people, sites):
    s = _scheme(people["admin"])
    rz.upload(s, HAND_LIST.encode(), by=people["admin"], reason="hand list")
    clin = people["clin"]

    def codes(p, confirmed=CHECKLIST):
        with pytest.raises(FieldErrors) as exc:
            rz.randomise(p, confirmed=confirmed, by=clin)
        return exc.value.codes

    assert codes(_child(sites[0], "LUB-001", consent=False)) == {"consent": ["consent_missing"]}
    withdrawn = _child(sites[0], "LUB-002")
    withdrawn.consent_withdrawn_date = date(2024, 6, 1)
    withdrawn.save()
    assert codes(withdrawn) == {"consent": ["consent_withdrawn"]}
    p = _child(sites[0], "LUB-003")
    assert codes(p, CHECKLIST | {"exclusion": False}) == {"eligibility": ["not_confirmed"]}
    assert codes(p, {"inclusion": True}) == {"eligibility": ["not_confirmed"]}
    no_level = Patient.objects.create(
        site=sites[0], study_id="LUB-004", birth_date=date(2019, 1, 1), sex="M",
        consent_date=date(2024, 1, 5), consent_version="1.0",
    )  # fmt: skip
    assert codes(no_level) == {"gmfcs": ["gmfcs_missing"]}
    krk = _child(sites[1], "KRK-001")
    assert codes(krk) == {"site": ["site_not_in_strata"]}
    treated = _child(sites[0], "LUB-005")
    Administration.objects.create(
        patient=treated, date=date(2024, 2, 1), product="ucb", origin="allogeneic",
        route="intravenous", cells_total=4.5e8, weight_kg=15,
    )  # fmt: skip
    assert codes(treated) == {"patient": ["treated_before_randomisation"]}
    rz.randomise(p, confirmed=CHECKLIST, by=clin)
    assert codes(p) == {"patient": ["already_randomised"]}
    with pytest.raises(Exception, match="only admin or clinician"):
        rz.randomise(_child(sites[0], "LUB-006"), confirmed=CHECKLIST, by=people["monitor"])
    assert AllocationSlot.objects.filter(patient__isnull=False).count() == 1


def test_the_age_band_at_randomisation_is_the_gmfcs_er_band(people, sites):
    _scheme(people["admin"], factors=("site", "gmfcs", "age_band"))
    s = rz.scheme()
    one_year = _child(sites[0], "LUB-001", born=today() - timedelta(days=400))
    eight = _child(sites[0], "LUB-002", level=4, born=today() - timedelta(days=8 * 366))
    assert rz.stratum_of(s, one_year) == "LUB|I-II|under 2"
    assert rz.stratum_of(s, eight) == "LUB|III-V|6-12"
    old = _child(sites[0], "LUB-003", born=today() - timedelta(days=19 * 366))
    with pytest.raises(FieldErrors) as exc:
        rz.stratum_of(s, old)
    assert exc.value.codes == {"age_band": ["age_out_of_band"]}


def test_deterministic_minimisation_balances_the_second_child(people, sites):
    _scheme(people["admin"], method="minimisation", probability=1.0)
    a, b = _child(sites[0], "LUB-001"), _child(sites[0], "LUB-002")
    first = rz.randomise(a, confirmed=CHECKLIST, by=people["clin"]).arm
    second = rz.randomise(b, confirmed=CHECKLIST, by=people["clin"]).arm
    # with p = 1 the second child of the same site and GMFCS band must go to the other arm
    # (imbalance 0 against 2 on each factor)
    assert {first, second} == {"cells", "control"}


# --- blinding and unblinding ----------------------------------------------------------------


def _randomised_child(people, sites):
    s = _scheme(people["admin"])
    rz.upload(s, HAND_LIST.encode(), by=people["admin"], reason="hand list")
    p = _child(sites[0], "LUB-001")
    rz.randomise(p, confirmed=CHECKLIST, by=people["clin"])  # LUB|I-II slot 1: cells
    return p


def test_a_blinded_assessor_sees_no_allocation_anywhere(people, sites, web):
    p = _randomised_child(people, sites)
    admin = Administration.objects.create(
        patient=p, date=today(), product="ucb", origin="allogeneic",
        route="intravenous", cells_total=4.5e8, weight_kg=15,
    )  # fmt: skip
    assessor = _assessor(sites)
    api = Api(assessor)
    body = api.get(f"/patients/{p.pk}").json()
    assert body["group"] is None
    listed = api.get("/patients").json()["items"]
    assert [x["group"] for x in listed] == [None]
    assert api.get(f"/patients/{p.pk}/allocation").status_code == 403
    assert api.get(f"/patients/{p.pk}/administrations/{admin.pk}").status_code == 403
    assert api.get(f"/patients/{p.pk}/history").status_code == 403
    assert api.get("/randomisation").status_code == 403
    assert api.get(f"/patients/{p.pk}/trajectory").json().get("administrations", []) == []
    from django.test import Client

    c = Client()
    c.force_login(assessor)
    page = c.get(f"/patients/{p.pk}/").content.decode()
    assert "Cells (stem-cell therapy)" not in page and "allocation blinded" in page
    assert "Cells " + today().isoformat() not in page
    assert c.get(f"/patients/{p.pk}/allocation/").status_code == 403
    assert c.get(f"/patients/{p.pk}/history/").status_code == 403
    assert c.get(f"/patients/{p.pk}/administration/{admin.pk}/").status_code == 403
    assert c.get("/randomisation/").status_code == 403
    assert c.get("/worklist/").status_code == 403
    assert c.get("/dashboard/").status_code == 403  # figures by enrolment group
    assert c.get("/dashboard.xlsx").status_code == 403
    assert c.get("/dashboard/plot/excess.svg").status_code == 403
    assert "Cells" not in c.get("/patients/").content.decode().split("<table")[-1]
    # the unblinded roles see it
    assert Api(people["clin"]).get(f"/patients/{p.pk}/allocation").json()["arm"] == "cells"
    assert Api(people["monitor"]).get(f"/patients/{p.pk}/allocation").json()["arm"] == "cells"
    assert Api(people["researcher"]).get(f"/patients/{p.pk}/allocation").status_code == 403
    assert Api(people["clin_b"]).get(f"/patients/{p.pk}/allocation").status_code == 404
    assert (
        "Cells (stem-cell therapy)"
        in web("clin").get(f"/patients/{p.pk}/allocation/").content.decode()
    )


def test_visits_of_both_arms_start_at_randomisation(people, sites):
    """One schedule from the randomisation in either arm, however many infusions: the visit
    dates do not tell a blinded assessor the arm."""
    from cpstem.registry.models import FollowUpVisit
    from cpstem.registry.services import schedule, write

    randomised_on = date(2024, 2, 1)
    s = _scheme(people["admin"])
    rz.upload(s, HAND_LIST.encode(), by=people["admin"], reason="hand list")
    cells, control = _child(sites[0], "LUB-001"), _child(sites[0], "LUB-002")
    for p in (cells, control):
        rz.randomise(p, confirmed=CHECKLIST, by=people["clin"], on=randomised_on)  # cells, control
        p.refresh_from_db()
    assert (cells.group, control.group) == ("cells", "control")
    for days in (9, 190):  # two infusions, after the randomisation
        write.save(
            Administration(
                patient=cells, date=randomised_on + timedelta(days=days), product="ucb",
                origin="allogeneic", route="intravenous", cells_total=4.5e8, weight_kg=15,
            )
        )  # fmt: skip

    def visits(p: Patient) -> list[tuple]:
        rows = FollowUpVisit.objects.filter(patient=p).order_by("target_date", "months")
        return [(v.label, v.target_date, v.window_start, v.administration_id) for v in rows]

    expected = [
        (r.label, t, t - timedelta(days=r.days_before), None)
        for r in schedule.rules()
        for t in [add_months(randomised_on, r.months)]
    ]
    assert visits(cells) == visits(control) == expected
    schedule.refresh_many([cells.pk, control.pk])  # the bulk path plans the same
    assert visits(cells) == visits(control) == expected


def test_unblinding_needs_a_role_and_a_reason_and_is_shown(people, sites, web):
    p = _randomised_child(people, sites)
    assessor = _assessor(sites)
    assert Api(assessor).post(f"/patients/{p.pk}/unblind", {"reason": "x"}).status_code == 403
    assert (
        Api(people["monitor"]).post(f"/patients/{p.pk}/unblind", {"reason": "x"}).status_code == 403
    )
    r = Api(people["clin"]).post(f"/patients/{p.pk}/unblind", {"reason": ""})
    assert r.status_code == 422
    r = Api(people["clin"]).post(
        f"/patients/{p.pk}/unblind", {"reason": "SAE: anaphylaxis, treating team must know"}
    )
    assert r.status_code == 201, r.content
    assert r.json()["by"] == "clara" and r.json()["role"] == "clinician"
    u = Unblinding.objects.get(patient=p)
    assert u.reason == "SAE: anaphylaxis, treating team must know"
    ev = RandomisationEvent.objects.get(kind=EventKind.UNBLINDED)
    assert (ev.by, ev.patient, ev.reason) == (people["clin"], p, u.reason)
    # now the blinded assessor sees this child's allocation
    assert Api(assessor).get(f"/patients/{p.pk}/allocation").json()["arm"] == "cells"
    assert Api(assessor).get(f"/patients/{p.pk}").json()["group"] == "cells"
    page = web("admin").get("/randomisation/").content.decode()
    assert "clara (clinician)" in page and "SAE: anaphylaxis" in page and "LUB-001" in page
    alloc = web("clin").get(f"/patients/{p.pk}/allocation/").content.decode()
    assert "SAE: anaphylaxis" in alloc


# --- the API and the pages ------------------------------------------------------------------


def test_api_randomise_then_allocation(people, sites):
    _scheme(people["admin"])
    admin = Api(people["admin"])
    assert (
        admin.post(
            "/randomisation/upload", {"csv": "stratum,sequence,arm\n", "reason": "x"}
        ).status_code
        == 422
    )
    r = admin.post("/randomisation/upload", {"csv": HAND_LIST, "reason": "CTU list"})
    assert r.status_code == 201, r.content
    assert (
        r.status_code == 201
        and r.json()["upload_sha256"] == hashlib.sha256(HAND_LIST.encode()).hexdigest()
    )
    p = _child(sites[0], "LUB-001")
    clin = Api(people["clin"])
    assert clin.get(f"/patients/{p.pk}/allocation").status_code == 404  # not yet randomised
    r = clin.post(f"/patients/{p.pk}/randomise", {"eligibility": {"inclusion": True}})
    assert r.status_code == 422 and r.json()["codes"] == {"eligibility": ["not_confirmed"]}
    r = clin.post(f"/patients/{p.pk}/randomise", {"eligibility": CHECKLIST})
    assert r.status_code == 201, r.content
    assert (r.json()["arm"], r.json()["stratum"], r.json()["sequence"]) == ("cells", "LUB|I-II", 1)
    again = clin.post(f"/patients/{p.pk}/randomise", {"eligibility": CHECKLIST})
    assert again.json()["codes"] == {"patient": ["already_randomised"]}
    assert (
        Api(people["monitor"])
        .post(f"/patients/{p.pk}/randomise", {"eligibility": CHECKLIST})
        .status_code
        == 403
    )
    st = clin.get("/randomisation").json()
    assert st["allocated_total"] == {"cells": 1, "control": 0} and st["list_source"] == "uploaded"
    v = Api(people["monitor"]).post("/randomisation/verify", {"reason": "SDV visit"})
    assert v.status_code == 201 and v.json()["ok"] is True
    assert clin.post("/randomisation/generate", {"reason": "x"}).status_code == 403


def test_design_page_and_randomise_form(people, sites, web):
    admin = web("admin")
    r = admin.post("/randomisation/", {"action": "define", "name": "CELLS-CP", "ratio": "1,1",
                                        "block_sizes": "2,4", "per_stratum": "4", "reason": "v1"})  # fmt: skip
    assert r.status_code == 302
    r = admin.post("/randomisation/", {"action": "generate", "reason": "list v1"}, follow=True)
    page = r.content.decode()
    s = rz.scheme()
    assert s.list_sha256 in page and "generated" in page
    p = _child(sites[0], "LUB-001")
    clin = web("clin")
    page = clin.get("/randomisation/").content.decode()
    assert f"/patients/{p.pk}/randomise/" in page and "cpstem design size" in page
    form = clin.get(f"/patients/{p.pk}/randomise/").content.decode()
    assert "criterion_inclusion" in form and "Allocated arm" not in form
    r = clin.post(f"/patients/{p.pk}/randomise/", {"criterion_inclusion": "on"})
    assert "not confirmed" in r.content.decode()
    r = clin.post(f"/patients/{p.pk}/randomise/", {f"criterion_{k}": "on" for k in CHECKLIST},
                  follow=True)  # fmt: skip
    slot = AllocationSlot.objects.get(patient=p)
    assert "Allocated arm" in r.content.decode()
    assert r.redirect_chain[-1][0] == f"/patients/{p.pk}/allocation/"
    assert slot.arm in ("cells", "control")


# --- the blinded-assessor flag --------------------------------------------------------------


def test_blinded_assessor_flag_in_api_form_and_analysis_export(people, sites, patient):
    clin = Api(people["clin"])
    r = clin.post(
        f"/patients/{patient.pk}/assessments/gmfm66",
        {"date": "2024-03-01", "score": 45.2, "se": 1.4, "blinded_assessor": True},
    )
    assert r.status_code == 201 and r.json()["blinded_assessor"] is True
    g = GMFM66Assessment.objects.get(pk=r.json()["id"])
    assert g.blinded_assessor is True
    one = clin.get(f"/patients/{patient.pk}/assessments/gmfm66/{g.pk}").json()
    assert one["blinded_assessor"] is True
    from cpstem.registry.forms import GMFM66Form, GMFM88Form, SpasticityForm

    for form in (GMFM66Form, GMFM88Form, SpasticityForm):
        assert "blinded_assessor" in form.base_fields
    from cpstem.registry import exporter

    gm = exporter.tables()["gmfm"]
    assert gm["blinded_assessor"].tolist() == [True]


# --- concurrency ----------------------------------------------------------------------------

SETUP = """
from datetime import date
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry.models import Classification, Patient, Site
site = Site.objects.get(code="LUB")
for i in range({n}):
    p = Patient(site=site, study_id=f"C-{{i:02d}}", birth_date=date(2019, 1, 1), sex="F",
                consent_date=date(2024, 1, 5), consent_version="1.0")
    p.full_clean(); p.save()
    Classification.objects.create(patient=p, date=date(2024, 1, 5), system="gmfcs", level=2)
"""

RANDOMISE = """
import sys
from cpstem.registry import setup
setup.start(migrate=False)
from cpstem.registry.models import Patient
from cpstem.registry.services import randomisation as rz
p = Patient.objects.get(study_id=sys.argv[1])
slot = rz.randomise(p, confirmed={{"inclusion": True, "exclusion": True, "baseline": True}})
print(slot.sequence, slot.arm)
"""


def test_concurrent_randomisations_never_share_a_slot(registry):
    """Eight processes randomise eight children of one stratum at the same moment (SQLite's
    write lock; on --db=postgresql the scheme row's lock): eight different slots, the list's
    first eight, each child's group equal to its slot's arm."""
    n = 8
    registry.run("site", "create", "LUB", "--name", "Lublin")
    rows = (
        ["stratum,sequence,arm"]
        + [f"LUB|I-II,{i},{'cells' if i % 4 in (1, 0) else 'control'}" for i in range(1, 11)]
        + [f"LUB|III-V,{i},{'cells' if i % 2 else 'control'}" for i in range(1, 3)]
    )
    listfile = registry.folder.parent / "list.csv"
    listfile.write_text("\n".join(rows) + "\n")
    registry.run("randomisation", "upload", str(listfile), "--name", "CELLS-CP",
                 "--factors", "site,gmfcs", "--gmfcs-band", "I-II=1,2",
                 "--gmfcs-band", "III-V=3,4,5", "--reason", "CTU list")  # fmt: skip
    registry.python(SETUP.format(n=n))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RANDOMISE.format(), f"C-{i:02d}"],
            env=registry.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    got = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        seq, arm = out.split()
        got.append((int(seq), arm))
    assert sorted(s for s, _ in got) == list(range(1, n + 1))
    expected = {i: "cells" if i % 4 in (1, 0) else "control" for i in range(1, n + 1)}
    assert all(arm == expected[seq] for seq, arm in got)
    check = registry.python(
        "from cpstem.registry import setup\nsetup.start(migrate=False)\n"
        "from cpstem.registry.models import AllocationSlot\n"
        "print(sum(s.patient.group == s.arm for s in AllocationSlot.objects.filter("
        "patient__isnull=False)))"
    )
    assert check.stdout.split()[-1] == str(n)
    status = json.loads(registry.run("randomisation", "status", "--json").stdout)
    counts = {r["stratum"]: r for r in status["strata_counts"]}
    assert counts["LUB|I-II"]["allocated"] == Counter(expected.values())
    assert counts["LUB|I-II"]["free_slots"] == 2


def test_cli_upload_errors_and_verify_exit_status(registry):
    registry.run("site", "create", "LUB", "--name", "Lublin")
    bad = registry.folder.parent / "bad.csv"
    bad.write_text("stratum,sequence,arm\nLUB|I-II,1,cells\nLUB|I-II,two,placebo\n")
    r = registry.run("randomisation", "upload", str(bad), "--name", "CELLS-CP",
                     "--factors", "site,gmfcs", "--gmfcs-band", "I-II=1,2",
                     "--gmfcs-band", "III-V=3,4,5", "--reason", "CTU", check=False)  # fmt: skip
    assert r.returncode == 1
    assert "line 3, column sequence" in r.stderr and "line 3, column arm" in r.stderr
    r = registry.run("randomisation", "generate", "--seed", "5", "--per-stratum", "4",
                     "--reason", "v1")  # fmt: skip
    assert "SHA-256 of the list:" in r.stdout
    assert "OK" in registry.run("randomisation", "verify").stdout
    registry.python(
        "from cpstem.registry import setup\nsetup.start(migrate=False)\n"
        "from cpstem.registry.models import AllocationSlot\n"
        "s = AllocationSlot.objects.order_by('id').first()\n"
        "AllocationSlot.objects.filter(pk=s.pk).update("
        "arm='control' if s.arm == 'cells' else 'cells')"
    )
    r = registry.run("randomisation", "verify", check=False)
    assert r.returncode == 1 and "CHANGED" in r.stdout


def test_a_randomised_child_keeps_its_group_and_is_not_deleted(people, sites):
    from cpstem.registry.errors import HasDependants
    from cpstem.registry.services import write

    p = _randomised_child(people, sites)  # cells
    p.refresh_from_db()
    p.group, p.enrolment_date = "control", p.enrolment_date
    with pytest.raises(FieldErrors) as exc:
        write.save(p, reason="typo")
    assert exc.value.codes == {"group": ["randomised_group"]}
    p.refresh_from_db()
    Classification.objects.filter(patient=p).delete()
    with pytest.raises(HasDependants) as refused:
        write.delete(p, reason="entered by mistake")
    assert "randomisation allocation" in str(refused.value.dependants)
    assert Patient.objects.filter(pk=p.pk).exists()

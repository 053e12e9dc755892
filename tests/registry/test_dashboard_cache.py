"""The dashboard's caches: any change of the data changes the figures, the kept analysis tables
stay equal to a fresh build while they are patched child by child, and a user never gets the
cached figures of another site.

Hand-worked value (the cohort of ``ipd_helpers``; the stable-limit formula of rosenbaum2002,
GMFCS III age90 3.7 y, ``f(a) = 1 - 10^(-a / 3.7)``, ages in days / 365.2425): a new GMFM-66 of
the control C, 41.0 on 2025-03-02 (366 days after enrolment: 12.0249 months, nearer 12 than the
assessment of 2025-03-03), is 1873 days after birth; the baseline (35.0 on 2024-02-20) 1497
days. Child-anchored expected change 35 / f(a0) * (f(a1) - f(a0)) = 1.40125; excess
6 - 1.40125 = 4.59875 (before: 1.596093; the 1874-day value 1.403907 checks the formula).
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from cpstem.registry.models import GMFM66Assessment, Patient, SpasticityAssessment
from cpstem.registry.services import analysis, cohort_ipd, write
from tests.registry.ipd_helpers import hand_cohort

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_tables():
    analysis.forget()
    yield
    analysis.forget()


def _rows(html: str, table_id: str) -> list[list[str]]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
        if "<td" in r
    ]


def _anchored_excess_c() -> float:
    def f(days: int) -> float:
        return 1 - 10 ** (-(days / 365.2425) / 3.7)

    return 6.0 - 35.0 / f(1497) * (f(1873) - f(1497))


def test_hand_value_of_the_new_assessment():
    assert _anchored_excess_c() == pytest.approx(4.59875, abs=1e-5)


def test_a_new_assessment_changes_the_dashboard(web, sites):
    _, c = hand_cohort(sites)
    admin = web("admin")
    html = admin.get("/dashboard/").content.decode()
    assert ["Concurrent controls", "all", "1", "1.60", "–"] in _rows(html, "cohort-excess")
    warm = admin.get("/dashboard/").content.decode()  # warm: the same figures
    assert _rows(warm, "cohort-excess") == _rows(html, "cohort-excess")
    write.save(
        GMFM66Assessment(patient=c, date=date(2025, 3, 2), score=41.0, se=2.0),
        reason="assessment entered late",
    )
    html = admin.get("/dashboard/").content.decode()
    excess = _rows(html, "cohort-excess")
    assert ["Concurrent controls", "all", "1", f"{_anchored_excess_c():.2f}", "–"] in excess
    mean_all = (6.771334 + _anchored_excess_c()) / 2
    assert any(r[:4] == ["All children", "all", "2", f"{mean_all:.2f}"] for r in excess)
    # and back: deleting it restores the earlier figures
    write.delete(GMFM66Assessment.objects.get(patient=c, date=date(2025, 3, 2)), reason="error")
    html = admin.get("/dashboard/").content.decode()
    assert ["Concurrent controls", "all", "1", "1.60", "–"] in _rows(html, "cohort-excess")


def test_plots_follow_the_data(web, sites):
    _, c = hand_cohort(sites)
    admin = web("admin")
    before = admin.get("/dashboard/plot/excess.svg").content
    assert admin.get("/dashboard/plot/excess.svg").content == before  # cached
    write.save(
        GMFM66Assessment(patient=c, date=date(2025, 3, 2), score=41.0, se=2.0),
        reason="assessment entered late",
    )
    assert admin.get("/dashboard/plot/excess.svg").content != before


def test_site_separation_holds_in_the_cache(web, sites, monkeypatch):
    hand_cohort(sites)  # T (cells) at LUB, C (control) at KRK
    calls = []
    original = cohort_ipd.compute_gmfm
    monkeypatch.setattr(
        cohort_ipd, "compute_gmfm", lambda table, f: calls.append(1) or original(table, f)
    )
    lub, krk = web("clin"), web("clin_b")
    for first, second in ((lub, krk), (krk, lub)):
        cohort_ipd.cache.clear()
        first.get("/dashboard/")
        html = second.get("/dashboard/").content.decode()
        mine = _rows(html, "cohort-n")
        if second is krk:
            assert mine == [["Children treated with cells", "0"], ["Concurrent controls", "1"]]
            assert "6.77" not in html  # LUB's treated child
        else:
            assert mine == [["Children treated with cells", "1"], ["Concurrent controls", "0"]]
            assert "1.60" not in html  # KRK's control
    assert len(calls) == 4  # each site's figures computed for that site, never shared
    krk.get("/dashboard/")
    assert len(calls) == 4  # a repeated view is a cache hit
    # the plots are cached per site too
    cohort_ipd.cache.clear()
    lub_plot = lub.get("/dashboard/plot/trajectories.svg").content
    krk_plot = krk.get("/dashboard/plot/trajectories.svg").content
    assert lub_plot != krk_plot


def _same(kept: analysis.AnalysisData, fresh: analysis.AnalysisData) -> None:
    import pandas as pd

    for name in ("table", "spasticity", "labs"):
        pd.testing.assert_frame_equal(
            getattr(kept, name).reset_index(drop=True),
            getattr(fresh, name).reset_index(drop=True),
            check_dtype=False,
        )
    assert kept.skipped == fresh.skipped


def test_kept_tables_are_patched_child_by_child_and_equal_a_fresh_build(sites, monkeypatch):
    t, c = hand_cohort(sites)
    patched = []
    original = analysis._patch
    monkeypatch.setattr(
        analysis,
        "_patch",
        lambda kept, part, changed: (
            patched.append((part, set(changed))) or original(kept, part, changed)
        ),
    )
    _same(analysis.cached(), analysis.build())
    # an added, an edited and a deleted assessment: that child is rebuilt (with the children of
    # the last AUDIT_MARGIN audit entries), not the whole table
    g = write.save(
        GMFM66Assessment(patient=c, date=date(2025, 3, 2), score=41.0, se=2.0), reason="late"
    )
    _same(analysis.cached(), analysis.build())
    assert [part for part, _ in patched] == ["gmfm"] and c.pk in patched[0][1]
    g.score = 42.0
    write.save(g, reason="typo")
    write.save(
        SpasticityAssessment(
            patient=c,
            date=date(2024, 2, 20),
            mas=[{"muscle": "hamstrings", "side": "right", "grade": "1+"}],
            tardieu=[],
        )
    )
    _same(analysis.cached(), analysis.build())
    write.delete(g, reason="entered for the wrong child")
    _same(analysis.cached(), analysis.build())
    assert {part for part, _ in patched} == {"gmfm", "spasticity"}
    assert all(c.pk in changed for _, changed in patched)
    # a new child, and a child whose group changes
    n = write.save(Patient(site=sites[0], study_id="LUB-002", birth_date=date(2020, 2, 2), sex="M"))
    t.risk_other = ""
    write.save(t, reason="free text removed")
    _same(analysis.cached(), analysis.build())
    assert {n.pk, t.pk} <= set().union(*(changed for _, changed in patched))


def test_changes_without_audit_entries_rebuild_the_tables(sites):
    _, c = hand_cohort(sites)
    _same(analysis.cached(), analysis.build())
    GMFM66Assessment.objects.bulk_create(  # no audit entry: told by the count
        [GMFM66Assessment(patient=c, date=date(2025, 3, 2), score=41.0, se=2.0)]
    )
    kept = analysis.cached()
    assert len(kept.table) == 6
    _same(kept, analysis.build())


def test_warm_page_does_not_recompute(web, sites, monkeypatch):
    hand_cohort(sites)
    counted = {"gmfm": 0, "spasticity": 0}
    for name in counted:
        original = getattr(cohort_ipd, f"compute_{name}")

        def spy(*args, _name=name, _original=original):
            counted[_name] += 1
            return _original(*args)

        monkeypatch.setattr(cohort_ipd, f"compute_{name}", spy)
    admin = web("admin")
    admin.get("/dashboard/")
    admin.get("/dashboard/")
    assert counted == {"gmfm": 1, "spasticity": 1}
    # another visit: the GMFM-66 figures again, the spasticity figures from the cache
    admin.get("/dashboard/?months=6")
    assert counted == {"gmfm": 2, "spasticity": 1}


def test_patient_page_shows_the_spasticity_change(web, sites):
    """T's left hamstrings: MAS 2 on 2024-05-01, 1+ on 2024-11-02: one grade less (ordinal
    3 -> 2). A Tardieu pair added to both assessments (R2 - R1: 110 - 80 = 30, then
    110 - 95 = 15 degrees) gives a dynamic component 15 degrees smaller."""
    t, _ = hand_cohort(sites)
    for s, r1 in zip(t.spasticityassessment_set.order_by("date"), (80.0, 95.0), strict=True):
        s.tardieu = [{"muscle": "hamstrings", "side": "left", "r1_deg": r1, "r2_deg": 110.0}]
        write.save(s, reason="Tardieu added")
    html = web("admin").get(f"/patients/{t.pk}/").content.decode()
    cell = html.split('class="spasticity-change nowrap">', 1)[1].split("</td>", 1)[0]
    assert cell == "MAS -1 grade (2 → 1+); R2 − R1 -15°"


def test_an_audit_trail_that_went_back_rebuilds_the_tables(sites, monkeypatch):
    """As after restoring an older backup under a running server: the kept tables were built
    at later audit entries than the registry now has, so they are rebuilt whole."""
    import dataclasses

    hand_cohort(sites)
    analysis.cached()
    for kept in analysis._KEPT.values():
        kept.marks = {
            k: dataclasses.replace(m, audit_id=(m.audit_id or 0) + 1000)
            for k, m in kept.marks.items()
        }
    monkeypatch.setattr(analysis, "_patch", lambda *a: pytest.fail("patched, not rebuilt"))
    _same(analysis.cached(), analysis.build())


def test_a_server_process_warms_the_tables_in_the_background(monkeypatch):
    """`cpstem serve` (and each gunicorn worker) builds the kept tables once at start, in a
    daemon thread; a failure is logged, not raised; CPSTEM_WARM_DASHBOARD=0 turns it off."""
    calls = []
    monkeypatch.setattr(analysis, "cached", lambda *a, **k: calls.append("built"))
    monkeypatch.delenv("CPSTEM_WARM_DASHBOARD", raising=False)
    thread = analysis.warm_in_background()
    assert thread is not None and thread.daemon
    thread.join(10)
    assert calls == ["built"]

    def broken(*a, **k):
        raise RuntimeError("database gone")

    monkeypatch.setattr(analysis, "cached", broken)
    thread = analysis.warm_in_background()
    thread.join(10)  # logged, the thread ends quietly
    assert not thread.is_alive()
    monkeypatch.setenv("CPSTEM_WARM_DASHBOARD", "0")
    assert analysis.warm_in_background() is None

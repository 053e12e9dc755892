"""The parts of the evidence report on their own: writer, sections, the bundled report's choices."""

import copy
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cpstem import evidence as ev
from cpstem.evidence import EvidenceError
from cpstem.evidence.bundled import load_bundle
from cpstem.reports.document import Image, Table
from cpstem.reports.evidence import sections
from cpstem.reports.evidence.choices import load_choices, parse_choices, read_choices_file
from cpstem.reports.evidence.numbers import ci_text, counts, figures, p_phrase
from cpstem.reports.evidence.writer import ReportWriter, jsonable

# --------------------------------------------------------------------------- writer


def test_writer_escapes_formulas_in_csv_but_not_in_the_document(tmp_path):
    w = ReportWriter(tmp_path, "t")
    frame = pd.DataFrame({"study": ["=HYPERLINK(1)", "@x", "ok"], "-col": [-1.5, 2.0, 3.0]})
    w.table("studies", frame, "Caption")
    csv = (tmp_path / "tables" / "studies.csv").read_text().splitlines()
    assert csv == ["study,'-col", "'=HYPERLINK(1),-1.5", "'@x,2.0", "ok,3.0"]
    (block,) = w.doc.blocks
    assert isinstance(block, Table) and block.caption == "Caption (tables/studies.csv)"
    assert block.frame["study"].tolist() == ["=HYPERLINK(1)", "@x", "ok"]
    w.table("hidden", frame, "not shown", show=False)
    assert len(w.doc.blocks) == 1 and (tmp_path / "tables" / "hidden.csv").exists()


def test_writer_figure_and_finish(tmp_path):
    w = ReportWriter(tmp_path, "Title <b>")
    w.figure("f", lambda path: Path(path).write_bytes(b"png"), "A figure")
    assert w.doc.blocks == [Image("figures/f.png", "A figure")]
    w.results["x"] = {"a": np.float64(1.5), "b": float("nan"), "c": (np.int64(2), math.inf)}
    out = w.finish()
    assert json.loads((tmp_path / "results.json").read_text()) == {
        "x": {"a": 1.5, "b": None, "c": [2, None]}
    }
    assert "<title>Title &lt;b&gt;</title>" in (tmp_path / "report.html").read_text()
    assert (tmp_path / "report.md").read_text().startswith("# Title &lt;b&gt;")
    names = {p.name for p in out.files}
    assert {"f.png", "report.md", "report.html", "results.json"} <= names


def test_jsonable():
    assert jsonable({1: [np.float32(0.5), -math.inf]}) == {"1": [0.5, None]}


def test_counts_and_figures():
    assert counts([7, 0.0], np.array([19, 20])) == ["7/19", "0/20"]
    d = {"estimate": math.log(2.0), "ci_lower": None, "k": 3, "pval": 0.5}
    out = figures(d, ("k", "estimate", "ci_lower"), "OR")
    assert list(out) == ["k", "estimate", "ci_lower"]  # in the order asked for
    assert out["k"] == 3 and out["estimate"] == pytest.approx(2.0, rel=1e-15)
    assert math.isnan(out["ci_lower"])  # to_dict's None (NaN) is NaN again
    assert figures(d, ("estimate",)) == {"estimate": math.log(2.0)}  # no measure: as given


# --------------------------------------------------------------------------- sections

# Precomputed effects: each study's interval is yi -/+ z * sqrt(vi)
YI, VI = [0.1, 0.3, 0.35, 0.65], [0.03, 0.02, 0.05, 0.04]


def test_study_table_interval_at_the_models_level():
    es = ev.EffectSizes("GEN", np.array(YI), np.array(VI), ("a", "b", "c", "d"), np.full(4, np.nan))
    res = ev.rma(es, method="FE", level=90)
    frame = sections.study_table(es, res, None, "GEN")
    z = 1.6448536269514722  # qnorm(0.95)
    pairs = list(zip(YI, VI, strict=True))
    assert frame["ci_lower"].tolist() == [round(y - z * math.sqrt(v), 3) for y, v in pairs]
    assert frame["ci_upper"].tolist() == [round(y + z * math.sqrt(v), 3) for y, v in pairs]
    w = [1 / v for v in VI]  # fixed effect: inverse-variance weights
    assert frame["weight_percent"].tolist() == [round(100 * x / sum(w), 1) for x in w]


def test_pooled_text_names_the_level_and_formats_p():
    res = ev.rma(YI, VI, method="FE", level=90)
    w = [1 / v for v in VI]
    est = sum(x * y for x, y in zip(w, YI, strict=True)) / sum(w)
    se = 1 / math.sqrt(sum(w))
    z = stats.norm.ppf(0.95)
    p = 2 * stats.norm.sf(est / se)
    assert f"{p:.4f}" == "0.0002"
    text = sections.pooled_text(res, "GEN")
    ci = f"{est:.2f} [{est - z * se:.2f}, {est + z * se:.2f}]"
    assert text.startswith(f"Pooled GEN {ci} (90% CI; p = 0.0002; k = 4).")
    assert "prediction interval" not in text  # fixed effect: none
    assert p_phrase(0.1234567) == "p = 0.1235" and p_phrase(1e-7) == "p < 0.0001"
    assert ci_text(0.8623, -0.6247, 2.3493) == "0.86 [-0.62, 2.35]"


def test_event_ratio_table_at_90_by_hand():
    # Gu 2020 fever 7/19 vs 4/20: RR 1.8421, SE(log RR) = sqrt(1/7 - 1/19 + 1/4 - 1/20)
    rows = pd.DataFrame(
        {
            "event": ["fever"],
            "events_cells": [7],
            "n_cells": [19],
            "events_control": [4],
            "n_control": [20],
        }
    )
    se = math.sqrt(1 / 7 - 1 / 19 + 1 / 4 - 1 / 20)
    rr, z = (7 / 19) / (4 / 20), stats.norm.ppf(0.95)
    frame = sections.event_ratio_table(rows, 90)
    want = f"{rr:.2f} [{rr * math.exp(-z * se):.2f}, {rr * math.exp(z * se):.2f}]"
    assert want == "1.84 [0.76, 4.47]"
    assert frame.to_dict("records") == [
        {"event": "fever", "cells": "7/19", "control": "4/20", "risk ratio [90% CI]": want}
    ]


def test_single_arm_table_exact_interval():
    # 0 events in 20: exact two-sided 95 % upper limit 1 - 0.025 ** (1 / 20) = 0.168
    rows = pd.DataFrame({"study": ["S"], "event": ["e"], "events": [0], "n": [20]})
    frame = sections.single_arm_table(rows, 95)
    assert frame.to_dict("records") == [
        {
            "study": "S",
            "event": "e",
            "events/n": "0/20",
            "proportion [95% CI]": "0.000 [0.000, 0.168]",
        }
    ]
    assert round(1 - 0.025 ** (1 / 20), 3) == 0.168


def test_pooled_tables_table_columns_and_p():
    # metafor: rma.mh(measure="OR") on these tables (test_mh_parity) - here only the layout
    cols = dict(ai=[1, 3, 2], n1i=[45, 36, 40], ci=[0, 6, 5], n2i=[49, 70, 41])
    mh = ev.rma_mh("OR", level=90, **cols)
    frame = sections.pooled_tables_table({"MH OR": mh}, 90)
    assert list(frame.columns) == ["method", "estimate [90% CI]", "p", "k"]
    assert frame.loc[0, "p"] == f"{mh.pval:.4f}" and frame.loc[0, "k"] == 3
    informing = sections.pooled_tables_table({"MH OR": mh}, 90, informing=True)
    assert list(informing.columns)[-1] == "studies informing"


# --------------------------------------------------------------------------- choices


def test_bundled_choices_are_read_from_the_data_file():
    c = load_choices()
    assert c.motor_timepoints_months == (6, 12)
    assert c.reported_effects_timepoints_months == (12,)
    assert c.subgroup_columns == {
        "cells": "cell type",
        "cell_source": "cell source",
        "origin": "origin",
        "route": "route",
    }
    (rec,) = c.reconstructions
    # stem-cell-evidence.md section 4: Huang 12 mo, Kang 6 mo, Min UCB+EPO vs control 6 mo,
    # Sun 12 mo (the four trials of Eggenberger 2019 Table 3 with complete mean +/- SD)
    assert [(x.trial, x.timepoint_months) for x in rec.comparisons] == [
        ("huang2018", 12),
        ("kang2015", 6),
        ("min2013", 6),
        ("sun2017", 12),
    ]
    assert rec.comparisons[2].control_arm == "placebo + placebo"
    assert (rec.review, rec.effect, rec.method, rec.level) == ("Eggenberger", "cohen_d", "DL", 95)
    assert "Liu 2017" in c.safety_sae_note and "Zarrabi 2022" in c.reported_effects_note
    assert c.primary.measure == "MD" and c.primary.compare_review == "Finch-Edmondson"
    assert c.primary.scales == ("GMFM-66", "GMFM-66 actual minus expected")
    assert c.se_flag == "sd_may_be_se" and "{certainty}" in c.summary_template


def test_every_choice_has_a_source():
    data = read_choices_file()
    tables = [
        data["motor"],
        data["reported_effects"],
        data["safety"],
        data["primary"],
        data["sensitivity"],
        data["summary"],
        *data["subgroups"],
    ]
    for rec in data["reconstructions"]:
        tables += [rec, *rec["comparisons"]]
    assert all(t["source"].strip() for t in tables)


@pytest.mark.parametrize(
    ("change", "code_field", "message"),
    [
        (lambda d: d["motor"].pop("source"), "source", r"\[motor\] has no source"),
        (
            lambda d: d["reconstructions"][0]["comparisons"][0].update(cells_arm="nope"),
            "comparisons",
            "motor_arms.csv has no arm 'nope' of 'huang2018' at 12 months",
        ),
        (
            lambda d: d["subgroups"][0].update(column="colour"),
            "column",
            "trials.csv has no column 'colour'",
        ),
        (
            lambda d: d["reconstructions"][0].update(review="Nobody"),
            "review",
            "no review 'Nobody'",
        ),
    ],
)
def test_bad_choices_are_rejected(change, code_field, message):
    data = copy.deepcopy(read_choices_file())
    change(data)
    with pytest.raises(EvidenceError, match=message) as info:
        parse_choices(data, load_bundle())
    assert (info.value.code, info.value.field) == ("bundled_data", code_field)


def test_no_trial_is_named_in_the_report_code():
    trials = load_bundle().trials
    names = set(trials["trial"]) | {
        f"{s} {y}" for s, y in zip(trials["study"], trials["year"], strict=True)
    }
    folder = Path(sections.__file__).parent.parent
    for path in [*folder.glob("*.py"), *folder.glob("evidence/*.py")]:
        text = path.read_text()
        assert not [n for n in names if n in text], path


def test_facade_keeps_the_public_names():
    from cpstem.reports import evidence_report
    from cpstem.reports.evidence import run_bundled, run_user

    assert evidence_report.run_bundled is run_bundled and evidence_report.run_user is run_user
    subgroups = evidence_report.SUBGROUPS
    assert subgroups == load_choices().subgroup_columns
    assert evidence_report.MIN_K_BIAS == 10 and "OR" in evidence_report.RATIO

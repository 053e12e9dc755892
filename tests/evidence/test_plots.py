"""Forest and funnel plots: real image files whose rows, texts and marks carry metafor's numbers.

The BCG vaccine trials (metafor's dat.bcg) as risk ratios; every number drawn is compared with
metafor's reference outputs (tests/evidence/metafor/*.json).
"""

import math

import numpy as np
import pytest
from matplotlib.patches import Polygon

from cpstem import evidence as ev
from cpstem.evidence import EvidenceError
from tests.evidence.parity import close, load
from tests.factories import svg_texts

BCG = {
    "ai": [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    "bi": [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
    "ci": [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    "di": [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825],
}
TRIALS = [f"Trial {i + 1}" for i in range(13)]
Z975 = 1.959963984540054


def metafor_case(data: str, method: str = "REML", test: str = "z") -> dict:
    (case,) = [
        c
        for c in load("rma")["cases"]
        if (c["data"], c["method"], c["test"]) == (data, method, test)
    ]
    return case["result"]


@pytest.fixture(scope="module")
def bcg():
    """dat.bcg as log risk ratios; they equal metafor's escalc values."""
    es = ev.effect_sizes("RR", **BCG, labels=TRIALS)
    data = load("rma")["datasets"]["bcg"]
    close(es.yi, data["yi"], "bcg yi")
    close(es.vi, data["vi"], "bcg vi")
    return es, np.array(data["yi"]), np.array(data["vi"])


def columns(ax) -> dict[float, list[tuple[float, str]]]:
    """The forest plot's text columns: x position -> [(row y, text)] from top to bottom."""
    cols: dict[float, list[tuple[float, str]]] = {}
    for t in ax.texts:
        x, y = t.get_position()
        cols.setdefault(round(x, 3), []).append((float(y), t.get_text()))
    return {x: sorted(rows, key=lambda r: -r[0]) for x, rows in cols.items()}


def diamonds(ax) -> dict[float, np.ndarray]:
    """Row y -> x of the diamond's left, centre and right corners."""
    out = {}
    for p in ax.patches:
        if isinstance(p, Polygon):
            xy = p.get_xy()
            out[float(xy[0, 1])] = xy[:3, 0]
    return out


def test_forest_png_rows_and_diamond_are_metafors(tmp_path, bcg):
    es, yi, vi = bcg
    mf = metafor_case("bcg")  # rma(yi, vi, data=dat.bcg, measure="RR"), REML, z
    res = ev.rma(es)
    out = tmp_path / "forest.png"
    fig = ev.forest(res, out=out, title="BCG")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "Risk ratio"
    cols = columns(ax)
    label_col, weight_col, estimate_col = cols[-0.92], cols[1.12], cols[1.62]
    # one row per study, in input order, then the pooled row and its heterogeneity line
    labels = [t for _, t in label_col]
    assert labels[0] == "Study" and labels[1:14] == TRIALS
    assert labels[14] == "RE model (REML)"
    assert labels[15] == "Heterogeneity: Q = 152.23, df = 12, p < 0.001; I² = 92%, τ² = 0.313"
    # weights: metafor's weights(res) in percent (5.059..., 6.364..., ...)
    assert [t for _, t in weight_col] == ["Weight"] + [f"{w:.1f}%" for w in mf["weights"]] + [
        "100.0%"
    ]
    assert [t for _, t in weight_col][1:4] == ["5.1%", "6.4%", "4.4%"]
    # per study: exp(yi) [exp(yi - 1.96 se), exp(yi + 1.96 se)] from metafor's escalc
    se = np.sqrt(vi)
    want = [
        f"{math.exp(y):.2f} [{math.exp(y - Z975 * s):.2f}, {math.exp(y + Z975 * s):.2f}]"
        for y, s in zip(yi, se, strict=True)
    ]
    assert [t for _, t in estimate_col][1:14] == want
    assert want[0] == "0.41 [0.13, 1.26]"  # trial 1: 4/123 vs 11/139
    # pooled: metafor beta -0.7145 [-1.0669, -0.3622] -> 0.49 [0.34, 0.70]
    assert estimate_col[14][1] == "0.49 [0.34, 0.70]"
    pooled_y = label_col[14][0]
    (corners,) = diamonds(ax).values()
    assert list(diamonds(ax)) == [pooled_y]
    close(np.log(corners), [mf["ci.lb"], mf["beta"], mf["ci.ub"]], "diamond")
    # squares at exp(yi), one per study row
    squares = [line for line in ax.get_lines() if line.get_marker() == "s"]
    close(np.log([s.get_xdata()[0] for s in squares]), yi, "squares")
    assert [s.get_ydata()[0] for s in squares] == [y for y, _ in label_col[1:14]]
    # prediction interval: metafor pi.lb -1.8667, pi.ub 0.4376 -> 0.15 to 1.55
    assert {t.get_text() for t in fig.texts} == {
        "BCG",  # the title
        "Dashed lines: 95% prediction interval (overall 0.15 to 1.55)",
    }
    assert (math.exp(mf["pi.lb"]), math.exp(mf["pi.ub"])) == pytest.approx(
        (0.1547, 1.5490), abs=1e-4
    )
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    ends = sorted(x for line in dashed for x in line.get_xdata())
    close(np.log([ends[0], ends[-1]]), [mf["pi.lb"], mf["pi.ub"]], "prediction interval")


def test_forest_subgroups_svg_carries_metafors_subtotals(tmp_path, bcg):
    es, _, _ = bcg
    sub = load("subgroups")["cases"][0]  # dat.bcg by allocation, REML, z
    assert (sub["data"], sub["method"], sub["test"]) == ("bcg_alloc", "REML", "z")
    sg = ev.subgroup(es, groups=sub["group"])
    out = tmp_path / "forest.svg"
    fig = ev.forest(sg, out=out)
    ax = fig.axes[0]
    labels = columns(ax)[-0.92]
    texts = [t for _, t in labels]
    # a header, its studies and a subtotal per level, in metafor's level order
    assert texts[:5] == ["Study", "alternate", "Trial 5", "Trial 6", "Subtotal alternate"]
    assert texts[texts.index("random") + 1 : texts.index("Subtotal random")] == [
        "Trial 1",
        "Trial 2",
        "Trial 3",
        "Trial 4",
        "Trial 7",
        "Trial 8",
        "Trial 9",
    ]
    assert texts[-1] == "Test for subgroup differences: Q = 1.86, df = 2, p = 0.394"
    assert sub["Qb"] == pytest.approx(1.8614, abs=1e-4) and sub["Qbp"] == pytest.approx(
        0.3943, abs=1e-4
    )
    # each subtotal diamond at metafor's subgroup fit
    rows = {t: y for y, t in labels}
    drawn = diamonds(ax)
    for level, fit in zip(sub["levels"], sub["groups"], strict=True):
        close(
            np.log(drawn[rows[f"Subtotal {level}"]]),
            [fit["ci.lb"], fit["beta"], fit["ci.ub"]],
            f"subtotal {level}",
        )
    # subtotal weights: the studies' overall weights (metafor weights(res), %) summed
    # alternate (trials 5, 6): 8.868 + 10.096 = 18.96; random (1-4, 7-9): 5.059 + 6.365 +
    # 4.436 + 9.699 + 6.027 + 10.189 + 8.743 = 50.52; systematic (10-13): 8.368 + 9.925 +
    # 3.822 + 8.403 = 30.52
    weight_of = dict(columns(ax)[1.12])
    assert [weight_of[rows[f"Subtotal {lv}"]] for lv in sub["levels"]] == [
        "19.0%",
        "50.5%",
        "30.5%",
    ]
    # the file itself has the texts
    svg = set(svg_texts(out))
    assert {"Subtotal random", "RE model (REML)", "0.49 [0.34, 0.70]", "50.5%"} <= svg
    assert "Test for subgroup differences: Q = 1.86, df = 2, p = 0.394" in svg


def test_funnel_with_trimfill_is_metafors(tmp_path, bcg):
    es, yi, vi = bcg
    tf_ref = load("bias")["cases"][0]["result"]["trimfill"]  # trimfill(rma(dat.bcg RR, REML))
    res = ev.rma(es)
    tf = ev.trimfill(res)
    fig = ev.funnel(res, out=tmp_path / "funnel.pdf", trimfill=tf)
    assert (tmp_path / "funnel.pdf").read_bytes()[:4] == b"%PDF"
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    # metafor: one study missing on the right, at yi 0.3104 with vi 0.2230
    assert tf_ref["k0"] == 1 and tf_ref["side"] == "right"
    filled = lines["filled by trim-and-fill (1)"]
    close(filled.get_xdata(), tf_ref["yi"][-1:], "filled yi")
    close(filled.get_ydata(), np.sqrt(tf_ref["vi"][-1:]), "filled se")
    close(lines["trim-and-fill estimate"].get_xdata()[0], tf_ref["beta"], "trim-and-fill beta")
    close(lines["pooled estimate (REML)"].get_xdata()[0], metafor_case("bcg")["beta"], "beta")
    studies = lines["studies"]
    close(studies.get_xdata(), yi, "study yi")
    close(studies.get_ydata(), np.sqrt(vi), "study se")
    assert ax.get_ylim()[0] > ax.get_ylim()[1] == 0  # SE axis points down from 0
    assert ax.get_xlabel() == "Log risk ratio" and ax.get_title() == "Funnel plot (k = 13)"


def test_funnel_contours_are_the_significance_regions(bcg):
    es, _, _ = bcg
    fig = ev.funnel(ev.rma(es), contours=(0.9, 0.95, 0.99))
    ax = fig.axes[0]
    regions = {c.get_label(): c for c in ax.collections}
    assert set(regions) == {"p > 0.10", "p > 0.05", "p > 0.01"}
    # the p > 0.05 region is |yi| < 1.96 se: at the bottom (se = max se * 1.08) its half-width
    # is 1.96 times that se
    top = ax.get_ylim()[0]
    verts = regions["p > 0.05"].get_paths()[0].vertices
    assert verts[:, 0].max() == pytest.approx(Z975 * top, rel=1e-9)
    assert verts[:, 0].min() == pytest.approx(-Z975 * top, rel=1e-9)


def test_plot_errors(tmp_path):
    res = ev.rma([0.1, 0.3, 0.2], [0.01, 0.02, 0.03], mods=[1, 2, 4])
    with pytest.raises(EvidenceError, match="without moderators"):
        ev.forest(res)
    with pytest.raises(EvidenceError, match="without moderators"):
        ev.funnel(res)
    two = ev.rma([0.1, 0.3], [0.01, 0.02], method="FE")
    with pytest.raises(EvidenceError, match=r"use a \.png"):
        ev.forest(two, out=tmp_path / "x.gif")
    assert not (tmp_path / "x.gif").exists()
    # the same model draws: FE estimate (0.1/0.01 + 0.3/0.02) / (1/0.01 + 1/0.02) = 25/150,
    # se sqrt(1/150) = 0.0816, CI 1/6 -/+ 1.96 * 0.0816 = [0.007, 0.327]
    fig = ev.forest(two, out=tmp_path / "two.svg")
    assert columns(fig.axes[0])[1.62][-1][1] == "0.17 [0.01, 0.33]"
    assert "FE model" in svg_texts(tmp_path / "two.svg")

"""Forest and funnel plots are written as real image files with the expected content."""

import numpy as np
import pytest

from cpstem import evidence as ev
from cpstem.evidence import EvidenceError

BCG = {
    "ai": [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    "bi": [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
    "ci": [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    "di": [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825],
}
ALLOC = [
    "random",
    "alternate",
    "random",
    "random",
    "systematic",
    "systematic",
    "random",
    "random",
    "systematic",
    "systematic",
    "alternate",
    "systematic",
    "systematic",
]


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_forest_png(tmp_path):
    es = ev.effect_sizes("RR", **BCG, labels=[f"Trial {i + 1}" for i in range(13)])
    res = ev.rma(es)
    out = tmp_path / "forest.png"
    fig = ev.forest(res, out=out, title="BCG")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    texts = _texts(fig)
    assert "Trial 13" in texts and "RE model (REML)" in texts
    assert "0.49 [0.34, 0.70]" in texts  # exp(-0.7145), exp(-1.0669), exp(-0.3622)
    assert any(t.startswith("Dashed lines: 95% prediction interval") for t in texts)
    assert fig.axes[0].get_xscale() == "log"


def test_forest_subgroups_svg(tmp_path):
    es = ev.effect_sizes("RR", **BCG)
    sg = ev.subgroup(es, groups=ALLOC)
    out = tmp_path / "forest.svg"
    fig = ev.forest(sg, out=out)
    texts = _texts(fig)
    assert {"alternate", "random", "systematic"} <= set(texts)
    assert "Subtotal random" in texts
    assert any(t.startswith("Test for subgroup differences: Q = 1.46") for t in texts)
    weights = [
        float(t[:-1]) for t in texts if t.endswith("%") and t[:-1].replace(".", "").isdigit()
    ]
    assert sum(w for w in weights if w < 100) == pytest.approx(200.0, abs=0.3)  # studies+subtotals
    assert out.read_text().lstrip().startswith("<?xml")


def test_funnel_with_trimfill(tmp_path):
    res = ev.rma(ev.effect_sizes("RR", **BCG))
    tf = ev.trimfill(res)
    fig = ev.funnel(res, out=tmp_path / "funnel.pdf", trimfill=tf)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "filled by trim-and-fill (1)" in labels
    assert fig.axes[0].get_ylim()[0] > fig.axes[0].get_ylim()[1]  # SE axis points down
    assert (tmp_path / "funnel.pdf").read_bytes()[:4] == b"%PDF"
    fig = ev.funnel(res, contours=(0.9, 0.95, 0.99))
    assert "p > 0.05" in [c.get_label() for c in fig.axes[0].collections]


def test_plot_errors(tmp_path):
    res = ev.rma([0.1, 0.3, 0.2], [0.01, 0.02, 0.03], mods=[1, 2, 4])
    with pytest.raises(EvidenceError, match="without moderators"):
        ev.forest(res)
    with pytest.raises(EvidenceError, match="without moderators"):
        ev.funnel(res)
    with pytest.raises(EvidenceError, match=r"use a \.png"):
        ev.forest(ev.rma([0.1, 0.3], [0.01, 0.02]), out=tmp_path / "x.gif")
    assert np.isfinite(ev.rma([0.1, 0.3], [0.01, 0.02]).estimate)

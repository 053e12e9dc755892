"""Curve plots: real image files whose curves, points and texts carry the published parameters.

Curves are checked against the stable-limit formula written out by hand,
``limit * (1 - 10 ** (-age / age90))``, with the parameters of the published tables.
"""

import numpy as np
import pytest

from cpstem import reference
from cpstem.reference import CurveError
from tests.factories import svg_texts

CHILD = [(2.5, 30.0), (3.5, 36.0), (4.5, 38.0), (5.5, 44.0)]
ROSENBAUM = [("I", 87.7, 4.8), ("II", 68.4, 4.4), ("III", 54.3, 3.7), ("IV", 40.4, 3.5)]
ROSENBAUM += [("V", 22.3, 2.7)]
SHI = [("I", 81.2, 3.8), ("II", 62.4, 2.7), ("III", 52.9, 2.1), ("IV", 40.8, 2.0), ("V", 24.4, 1.5)]


def by_label(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def test_png_with_child_points(tmp_path):
    out = tmp_path / "sub" / "curves.png"
    fig = reference.plot(reference.load("rosenbaum2002"), child=CHILD, level="III", out=out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    ax = fig.axes[0]
    lines = by_label(ax)
    # five level curves from the published parameters, GMFCS III (the child's) emphasised
    for level, limit, age90 in ROSENBAUM:
        curve = lines[f"GMFCS {level} (limit {limit}, age-90 {age90} y)"]
        x, y = curve.get_xdata(), curve.get_ydata()
        assert x[0] == 0 and x[-1] == 12.0  # 0 to 12 years (the child's last visit + 1 < 12)
        np.testing.assert_allclose(y, limit * (1 - 10 ** (-x / age90)), rtol=1e-12)
        assert curve.get_linewidth() == (2.4 if level == "III" else 1.2)
    # GMFCS III at 12 years: 54.3 * (1 - 10 ** (-12 / 3.7)) = 54.3 * (1 - 0.000571) = 54.269
    assert lines["GMFCS III (limit 54.3, age-90 3.7 y)"].get_ydata()[-1] == pytest.approx(
        54.269, abs=5e-4
    )
    # the child's points as given
    child = lines["child (observed)"]
    assert list(zip(child.get_xdata(), child.get_ydata(), strict=True)) == CHILD
    # child-anchored from the first visit: own limit 30 / (1 - 10 ** (-2.5 / 3.7))
    # = 30 / 0.78898 = 38.024, reaching 38.024 * (1 - 0.000571) = 38.002 at 12 years
    anchored = lines["expected from first visit (child-anchored)"]
    assert (anchored.get_xdata()[0], anchored.get_ydata()[0]) == pytest.approx((2.5, 30.0))
    assert (anchored.get_xdata()[-1], anchored.get_ydata()[-1]) == pytest.approx(
        (12.0, 38.002), abs=5e-4
    )
    assert anchored.get_linestyle() == "--"
    assert ax.get_xlim() == (0.0, 12.0) and ax.get_ylim() == (0.0, 100.0)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Age (years)", "GMFM-66 score")
    assert (
        ax.get_title() == "Ontario Motor Growth study (Rosenbaum et al. 2002) - verified: partial"
    )


def test_svg_without_child(tmp_path):
    out = tmp_path / "curves.svg"
    fig = reference.plot(reference.load("shi2012"), out=out)
    lines = by_label(fig.axes[0])
    labels = [f"GMFCS {lv} (limit {limit}, age-90 {age90:g} y)" for lv, limit, age90 in SHI]
    assert list(lines) == labels  # no child, no anchored curve
    for (_, limit, age90), label in zip(SHI, labels, strict=True):
        x, y = lines[label].get_xdata(), lines[label].get_ydata()
        np.testing.assert_allclose(y, limit * (1 - 10 ** (-x / age90)), rtol=1e-12)
        assert lines[label].get_linewidth() == 2.4  # no level chosen: all emphasised
    # GMFCS I at 12 years: 81.2 * (1 - 10 ** (-12 / 3.8)) = 81.2 * (1 - 0.000695) = 81.144
    assert lines[labels[0]].get_ydata()[-1] == pytest.approx(81.144, abs=5e-4)
    texts = svg_texts(out)
    assert texts[-1] == "Expected GMFM-66 by GMFCS level"
    assert set(labels) <= set(texts)
    assert {"Age (years)", "GMFM-66 score", "child (observed)"} & set(texts) == {
        "Age (years)",
        "GMFM-66 score",
    }


def test_bad_suffix_and_bad_points(tmp_path):
    curves = reference.load("shi2012")
    with pytest.raises(CurveError, match=r"use a \.png, \.svg or \.pdf name"):
        reference.plot(curves, out=tmp_path / "c.gif")
    assert not (tmp_path / "c.gif").exists()
    with pytest.raises(CurveError, match="GMFM-66 runs from 0 to 100"):
        reference.plot(curves, child=[(3, 140)])


def test_user_titles_with_dollar_signs_are_literal(tmp_path):
    path = tmp_path / "set.csv"
    rows = "\n".join(
        f"{lv},{lim},3"
        for lv, lim in zip(["I", "II", "III", "IV", "V"], (80, 60, 50, 40, 20), strict=True)
    )
    path.write_text("# title: $\\notacommand$ registry\ngmfcs,limit,age90_years\n" + rows + "\n")
    # as mathtext, \notacommand would make saving fail (unknown symbol)
    fig = reference.plot(reference.load_file(path), out=tmp_path / "c.svg")
    reference.plot(reference.load_file(path), out=tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    title = "$\\notacommand$ registry - verified: user-supplied"
    assert fig.axes[0].get_title() == title
    assert title in svg_texts(tmp_path / "c.svg")
    assert "GMFCS I (limit 80.0, age-90 3 y)" in svg_texts(tmp_path / "c.svg")


def test_child_anchored_line_runs_from_the_childs_point_on_its_own_limit():
    from matplotlib.figure import Figure

    from cpstem.reference.plots import draw_child_anchored

    ax = Figure().add_subplot()
    curves = reference.load("rosenbaum2002")  # level III: age-90 3.7 years
    draw_child_anchored(ax, curves, "III", 2.5, 30.0, 10.0, n=50, color="k", label="anchored")
    (line,) = ax.get_lines()
    xs, ys = line.get_xdata(), line.get_ydata()
    assert line.get_linestyle() == "--" and line.get_label() == "anchored" and len(xs) == 50
    # own limit = 30 / (1 - 10^(-2.5 / 3.7)); at 10 years: own * (1 - 10^(-10 / 3.7))
    own = 30.0 / (1 - 10 ** (-2.5 / 3.7))
    assert (xs[0], xs[-1]) == (2.5, 10.0)
    assert ys[0] == pytest.approx(30.0, rel=1e-12)
    assert ys[-1] == pytest.approx(own * (1 - 10 ** (-10 / 3.7)), rel=1e-12)

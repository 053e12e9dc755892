"""Curve plots are written as real image files."""

import pytest

from cpstem import reference
from cpstem.reference import CurveError

CHILD = [(2.5, 30.0), (3.5, 36.0), (4.5, 38.0), (5.5, 44.0)]


def test_png_with_child_points(tmp_path):
    out = tmp_path / "sub" / "curves.png"
    fig = reference.plot(reference.load("rosenbaum2002"), child=CHILD, level="III", out=out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "child (observed)" in labels
    assert any(lbl.startswith("GMFCS III (limit 54.3") for lbl in labels)
    assert "expected from first visit (child-anchored)" in labels


def test_svg_without_child(tmp_path):
    out = tmp_path / "curves.svg"
    reference.plot(reference.load("shi2012"), out=out)
    assert out.read_text().lstrip().startswith("<?xml")


def test_bad_suffix_and_bad_points(tmp_path):
    curves = reference.load("shi2012")
    with pytest.raises(CurveError, match=r"use a \.png, \.svg or \.pdf name"):
        reference.plot(curves, out=tmp_path / "c.gif")
    with pytest.raises(CurveError, match="GMFM-66 runs from 0 to 100"):
        reference.plot(curves, child=[(3, 140)])


def test_user_titles_with_dollar_signs_are_literal(tmp_path):
    path = tmp_path / "set.csv"
    rows = "\n".join(
        f"{lv},{lim},3"
        for lv, lim in zip(["I", "II", "III", "IV", "V"], (80, 60, 50, 40, 20), strict=True)
    )
    path.write_text("# title: $\\notacommand$ registry\ngmfcs,limit,age90_years\n" + rows + "\n")
    reference.plot(reference.load_file(path), out=tmp_path / "c.png")
    assert (tmp_path / "c.png").exists()


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

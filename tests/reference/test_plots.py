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

"""Stable-limit curves: formulas at hand-computed points, both expected-change methods."""

import math

import numpy as np
import pytest

from cpstem import reference
from cpstem.reference import CurveError
from tests.factories import CURVE_SET_CSV


@pytest.fixture(scope="module")
def ontario():
    return reference.load("rosenbaum2002")


def test_bundled_sets_are_listed():
    assert {"rosenbaum2002", "shi2012"} <= set(reference.available())


@pytest.mark.parametrize(
    ("name", "limits", "age90"),
    [
        ("rosenbaum2002", [87.7, 68.4, 54.3, 40.4, 22.3], [4.8, 4.4, 3.7, 3.5, 2.7]),
        ("shi2012", [81.2, 62.4, 52.9, 40.8, 24.4], [3.8, 2.7, 2.1, 2.0, 1.5]),
    ],
)
def test_parameters_match_the_published_tables(name, limits, age90):
    s = reference.load(name)
    assert [c.limit for c in s.curves.values()] == limits
    assert [c.age90_years for c in s.curves.values()] == age90


def test_provenance_is_carried(ontario):
    assert ontario.verified == "partial"
    assert "JAMA 2002;288(11):1357" in ontario.citation
    assert "NOT re-read" in ontario.verification
    assert reference.load("shi2012").verified == "abstract"
    assert all(c.source for c in ontario.curves.values())


def test_expected_at_age90_is_90_percent_of_the_limit(ontario):
    # GMFCS III: limit 54.3, age-90 3.7 y -> 0.9 * 54.3 = 48.87 at 3.7 y; 0.99 * 54.3 at 7.4 y.
    assert ontario.expected("III", 3.7) == pytest.approx(48.87, abs=1e-12)
    assert ontario.expected("III", 7.4) == pytest.approx(53.757, abs=1e-12)
    assert ontario.expected("III", 0) == 0.0
    # at 4.5 y: 54.3 * (1 - 10 ** (-4.5 / 3.7))
    assert ontario.expected(3, 4.5) == pytest.approx(54.3 * (1 - 10 ** (-4.5 / 3.7)), rel=1e-14)


def test_expected_accepts_arrays(ontario):
    ages = np.array([0.0, 4.8, 9.6])
    assert np.allclose(ontario.expected("I", ages), [0.0, 78.93, 86.823], atol=1e-12)


def test_population_change(ontario):
    # GMFCS I from 4.8 y (90 %) to 9.6 y (99 %): 87.7 * 0.09 = 7.893
    assert ontario.expected_change("I", 4.8, 9.6) == pytest.approx(7.893, abs=1e-12)
    assert ontario.expected_change("V", 5, 5) == 0.0


def test_child_anchored_change(ontario):
    # Baseline 38 at 3.7 y (GMFCS III): own limit 38 / 0.9 = 42.22; at 7.4 y it reaches
    # 0.99 of it, so the change is 38 * 0.99 / 0.9 - 38 = 3.8.
    assert ontario.child_limit("III", 3.7, 38) == pytest.approx(38 / 0.9, rel=1e-14)
    assert ontario.expected_change("III", 3.7, 7.4, baseline=38) == pytest.approx(3.8, abs=1e-12)
    # the README's child: GMFCS III, 38 at 4.5 y, one year later. 10 ** (-4.5 / 3.7) = 0.060783,
    # 10 ** (-5.5 / 3.7) = 0.032622; own limit 38 / 0.939217 = 40.4592; at 5.5 y
    # 40.4592 * 0.967378 = 39.1394: a gain of +1.14
    assert ontario.expected_change("III", 4.5, 5.5, baseline=38) == pytest.approx(
        1.139373, abs=1e-6
    )
    # a child exactly on the population curve gets the population change
    on_curve = ontario.expected("II", 3.0)
    # GMFCS II (68.4, age-90 4.4 y): 68.4 * (10 ** (-3 / 4.4) - 10 ** (-4 / 4.4))
    # = 68.4 * (0.208057 - 0.123285) = 5.7984
    assert ontario.expected_change("II", 3.0, 4.0) == pytest.approx(5.798410, abs=1e-6)
    assert ontario.expected_change("II", 3.0, 4.0, baseline=on_curve) == pytest.approx(
        5.798410, abs=1e-6
    )


def test_shi_curves_at_age90():
    shanghai = reference.load("shi2012")
    assert shanghai.expected("V", 1.5) == pytest.approx(0.9 * 24.4, abs=1e-12)
    assert shanghai.curve("I").rate_per_year == pytest.approx(math.log(10) / 3.8)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.expected("VI", 3), "GMFCS level 'VI' is not valid"),
        (lambda s: s.expected("II", -1), "age -1 years is not valid"),
        (lambda s: s.expected("II", math.nan), "is not valid"),
        (lambda s: s.expected("II", [1, -2]), "ages must be finite"),
        (lambda s: s.expected_change("II", 5, 4), "age_to \\(4 y\\) is before age_from"),
        (lambda s: s.expected_change("II", 0, 4, baseline=10), "baseline age above 0"),
        (lambda s: s.expected_change("II", 3, 4, baseline=120), "GMFM-66 runs from 0 to 100"),
        (lambda s: s.expected_change("II", 3, 4, baseline="x"), "'x' is not a number"),
    ],
)
def test_invalid_inputs(ontario, call, message):
    with pytest.raises(CurveError, match=message):
        call(ontario)


def test_unknown_set_lists_the_bundled_ones():
    with pytest.raises(CurveError, match="unknown curve set 'canada': bundled sets are"):
        reference.load("canada")


def test_user_csv_set(tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text(CURVE_SET_CSV, encoding="utf-8")
    s = reference.load_file(path)
    assert s.name == "myregistry" and s.verified == "user-supplied"
    assert s.expected("I", 4.5) == pytest.approx(0.9 * 85, abs=1e-12)
    assert s.curve("I").source == "registry report 2025 table 3"


def test_user_toml_set_round_trips_a_bundled_format(tmp_path):
    from importlib import resources

    text = resources.files("cpstem.reference").joinpath("sets/shi2012.toml").read_text()
    path = tmp_path / "copy.toml"
    path.write_text(text.replace('name = "shi2012"', 'name = "copy"'), encoding="utf-8")
    assert reference.load_file(path).expected("III", 2.1) == pytest.approx(0.9 * 52.9)


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        (CURVE_SET_CSV.replace("V,21,2.6,\n", ""), ".csv", "no curve for GMFCS level\\(s\\) V"),
        (CURVE_SET_CSV + "V,21,2.6,\n", ".csv", "GMFCS level V is given twice"),
        (CURVE_SET_CSV.replace("I,85,", "I,150,"), ".csv", "line 4: limit 150 must lie above 0"),
        (CURVE_SET_CSV.replace("II,66,4.1", "II,66,0"), ".csv", "age90_years 0 must lie above 0"),
        (CURVE_SET_CSV.replace("III,52,", "III,lots,"), ".csv", "limit 'lots' is not a number"),
        (CURVE_SET_CSV.replace("IV,39,", "VII,39,"), ".csv", "GMFCS level 'VII'"),
        (CURVE_SET_CSV.replace("age90_years", "age90"), ".csv", "columns must include"),
        (
            CURVE_SET_CSV.replace("I,85,4.5,registry", "I,85,4.5,a,b,c"),
            ".csv",
            "line 4: 6 values but only 4 columns",
        ),
        ("name = [", ".toml", "not valid TOML"),
        ('name = "x"\n', ".toml", "needs one \\[\\[levels\\]\\] table"),
        ('[[levels]]\ngmfcs = "I"\nlimit = 80\n', ".toml", "age90_years is missing"),
        (
            'model = "peak-decline"\n[[levels]]\ngmfcs="I"\nlimit=1\nage90_years=1\n',
            ".toml",
            "not supported",
        ),
        (CURVE_SET_CSV, ".txt", "use a .toml or .csv file"),
    ],
)
def test_invalid_user_sets(tmp_path, text, suffix, message):
    path = tmp_path / f"set{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CurveError, match=message):
        reference.load_file(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(CurveError, match="does not exist"):
        reference.load_file(tmp_path / "nope.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(CurveError, match="not a UTF-8 text file"):
        reference.load_file(binary)


def test_package_docstring_example():
    import doctest

    assert doctest.testmod(reference, raise_on_error=True).attempted == 3

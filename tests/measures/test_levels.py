"""GMFCS, MACS and CFCS levels; GMFCS-E&R age bands."""

import math

import pytest

from cpstem.measures import MeasureError, cfcs, gmfcs, macs


@pytest.mark.parametrize(
    "value", ["III", "3", 3, "iii", " GMFCS III ", "level 3", 3.0, gmfcs.Level.III]
)
def test_gmfcs_parses_roman_and_arabic(value):
    assert gmfcs.Level.parse(value) is gmfcs.Level.III


@pytest.mark.parametrize("value", ["VI", 0, 6, "0", True, None, "3.5", 3.5, "", "IIII"])
def test_gmfcs_rejects_invalid_levels(value):
    with pytest.raises(MeasureError, match=r"GMFCS level .* is not valid: use I, II, III, IV or V"):
        gmfcs.Level.parse(value)


def test_levels_order_print_and_describe():
    assert gmfcs.Level.I < gmfcs.Level.V and int(gmfcs.Level.IV) == 4
    assert str(gmfcs.Level.II) == "II" and f"{gmfcs.Level.V}" == "V"
    assert gmfcs.Level.I.descriptor == "Walks without limitations"
    assert gmfcs.Level.V.descriptor == "Transported in a manual wheelchair"
    assert all(lv.descriptor for sys in (gmfcs, macs, cfcs) for lv in sys.Level)


def test_macs_and_cfcs_are_separate_systems():
    assert macs.Level.parse("MACS II") is macs.Level.II
    assert cfcs.Level.parse("4") is cfcs.Level.IV
    with pytest.raises(MeasureError, match="MACS level 'VI'"):
        macs.Level.parse("VI")
    with pytest.raises(MeasureError, match="CFCS level 7"):
        cfcs.Level.parse(7)
    assert macs.Level.V.descriptor.startswith("Does not handle objects")


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "under 2"),
        (1.999, "under 2"),
        (2, "2-4"),
        (3.99, "2-4"),
        (4, "4-6"),
        (5.5, "4-6"),
        (6, "6-12"),
        (11.99, "6-12"),
        (12, "12-18"),
        (17.99, "12-18"),
    ],
)
def test_age_bands_follow_the_er_birthdays(age, band):
    assert gmfcs.age_band(age) == band


@pytest.mark.parametrize(
    ("age", "message"),
    [
        (-1, "age cannot be negative"),
        (math.nan, "age cannot be negative"),
        (18, "end at the 18th birthday"),
        ("4", "not a number of years"),
    ],
)
def test_age_band_errors(age, message):
    with pytest.raises(MeasureError, match=message):
        gmfcs.age_band(age)

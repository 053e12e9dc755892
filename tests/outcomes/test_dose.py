"""Cell counts, dose per kg and unit checks (range from the published trials)."""

import pytest

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.catalog import data
from cpstem.outcomes.dose import check_dose, compute_dose, dose_range, parse_cell_count, sci


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5e7", 5e7),
        ("5 x 10^7", 5e7),
        ("5×10^7", 5e7),
        ("5*10**7", 5e7),
        ("50,000,000", 5e7),
        ("50 000 000", 5e7),
        ("1.5 x 10^8", 1.5e8),
        ("1,5 x 10^8", 1.5e8),
        (3e7, 3e7),
    ],
)
def test_parse_cell_count(text, value):
    assert parse_cell_count(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["lots", "-5e7", "0", "5 x 10^", True, None])
def test_bad_cell_counts(text):
    with pytest.raises(OutcomeError):
        parse_cell_count(text)


def test_published_range_comes_from_the_trials():
    d = data("dose")["published_per_kg"]
    assert d["min_cells_per_kg"] == 1e6 and "Liu 2017" in d["min_source"]
    assert d["max_cells_per_kg"] == 5.97e8 and "Rah 2017" in d["max_source"]


def test_dose_per_kg_of_published_trials_needs_no_confirmation():
    # Min 2013: > 3 x 10^7 TNC/kg; Rah 2017: 5.97 x 10^8/kg; Liu 2017: 1 x 10^6/kg (15 kg child)
    for per_kg in (3e7, 5.97e8, 1e6):
        d = compute_dose(per_kg * 15, 15)
        assert d.cells_per_kg == pytest.approx(per_kg) and not d.needs_confirmation


def test_per_kg_entry():
    d = compute_dose("3 x 10^7", 15, per_kg=True)
    assert d.cells_total == pytest.approx(4.5e8) and d.cells_per_kg == pytest.approx(3e7)


def test_weight_in_grams_is_caught():
    with pytest.raises(
        OutcomeError,
        match=r"weight 15000 kg looks like grams: enter the weight in kilograms \(15 kg\?\)",
    ):
        compute_dose(5e7, 15000)


def test_wrong_exponent_is_refused():
    with pytest.raises(OutcomeError, match="more than 100-fold outside"):
        compute_dose("5 x 10^12", 15)
    with pytest.raises(OutcomeError, match="more than 100-fold outside"):
        compute_dose("5 x 10^2", 15)


def test_total_vs_per_kg_confusion_is_flagged():
    # 3 x 10^6 meant per kg, typed as a total for a 15 kg child: 2 x 10^5/kg
    d = compute_dose("3e6", 15)
    assert d.needs_confirmation and "if the number was per kg" in d.outside_published
    # a total typed as per kg: 1 x 10^9/kg
    d = compute_dose("1e9", 15, per_kg=True)
    assert d.needs_confirmation and "if the number was the total" in d.outside_published


def test_sci():
    assert sci(5e7) == "5 x 10^7" and sci(5.97e8) == "5.97 x 10^8"


# --- dose per product (data/dose_ranges.toml) ---------------------------------------------


def test_every_product_range_names_its_sources_and_what_is_verified():
    ranges = data("dose_ranges")
    assert set(ranges) == {"overall", "ucb", "uc_msc", "wj_msc", "bm_mnc", "bm_msc", "pbmc"}
    for key, r in ranges.items():
        assert r["min_source"] and r["max_source"] and r["verified"], key
        assert r["min_cells_per_kg"] <= r["max_cells_per_kg"], key
        if "min_cells_total" in r:
            assert r["min_total_source"] and r["max_total_source"], key
    # the published doses as the trials give them (stem-cell-evidence.md)
    assert (ranges["ucb"]["min_cells_per_kg"], ranges["ucb"]["max_cells_per_kg"]) == (5e6, 1e8)
    assert "doi:10.1186/s12883-022-02636-y" in ranges["ucb"]["min_source"]  # Zarrabi 2022
    assert "NCT03473301" in ranges["ucb"]["max_source"]  # ACCeNT-CP 10 x 10^7/kg
    assert ranges["bm_mnc"]["min_cells_per_kg"] == 1e6  # Liu 2017
    assert ranges["pbmc"]["verified"].startswith("secondary")  # Rah 2017: Eggenberger only
    # the overall per-kg range is dose.toml's published range
    assert (
        ranges["overall"]["min_cells_per_kg"]
        == data("dose")["published_per_kg"]["min_cells_per_kg"]
    )
    assert (
        ranges["overall"]["max_cells_per_kg"]
        == data("dose")["published_per_kg"]["max_cells_per_kg"]
    )


def test_unknown_product_falls_back_to_the_overall_range():
    assert dose_range("other").product == "overall"
    assert dose_range(None).product == "overall"
    assert dose_range("ucb").product == "ucb"
    assert dose_range("ucb").describe() == "5 x 10^6-1 x 10^8 cells/kg"
    assert dose_range("bm_msc").describe() == "1 x 10^6 cells/kg or a fixed 1 x 10^7-2 x 10^7 cells"


def test_cord_blood_total_typed_per_kg_is_flagged_as_a_swap():
    # the example: a cord-blood total of 4.8 x 10^8 entered as per kg (15 kg child)
    c = check_dose("ucb", 4.8e8 * 15, 4.8e8, 15, "per_kg")
    assert c.outside and c.side == "above" and c.likely_swap == "total_entered_as_per_kg"
    # read as the total: 4.8e8 / 15 = 3.2e7/kg, inside 5e6-1e8/kg
    assert "if the number was the total (4.8 x 10^8 cells)" in c.message
    # typed as the total, the same number is inside: no flag
    assert not check_dose("ucb", 4.8e8, 4.8e8 / 15, 15, "total").outside


def test_per_kg_dose_typed_as_total_is_flagged_as_a_swap():
    # the example: 3 x 10^7 entered as the total -> 3e7 / 16 kg = 1.875e6/kg
    c = check_dose("ucb", 3e7, 3e7 / 16, 16, "total")
    assert c.outside and c.side == "below" and c.likely_swap == "per_kg_entered_as_total"
    assert c.message.startswith(
        "dose 1.88 x 10^6 cells/kg (3 x 10^7 cells in total, 16 kg) is below the lowest "
        "published dose of umbilical cord blood (5 x 10^6-1 x 10^8 cells/kg): if the number "
        "was per kg (3 x 10^7 cells/kg), enter it as cells per kg, or confirm the dose"
    )
    # typed per kg, a swap the other way cannot explain a low dose: no hint, still outside
    c = check_dose("ucb", 1e6 * 16, 1e6, 16, "per_kg")
    assert c.outside and c.likely_swap is None and "check the count and the weight" in c.message


def test_fixed_total_doses_of_msc_trials_are_inside_whatever_the_weight():
    # Amanat 2021: a single 2 x 10^7 UC-MSC for 4-14-year-olds; Gu 2020 4.5-5.5 x 10^7
    for kg in (15, 30, 50):
        assert not check_dose("uc_msc", 2e7, 2e7 / kg, kg, "total").outside
        assert not check_dose("uc_msc", 5.5e7, 5.5e7 / kg, kg, "total").outside
    # 1e8 UC-MSC in 20 kg (5e6/kg): above both the per-kg and the fixed-total range
    c = check_dose("uc_msc", 1e8, 5e6, 20, "total")
    assert c.outside and c.side == "above" and c.likely_swap is None


def test_compute_dose_with_a_product_uses_its_range():
    # 3e7/kg of BM-MNC (15 kg): inside the overall range, above Liu 2017's 1e6/kg
    assert not compute_dose("3e7", 15, per_kg=True).needs_confirmation
    d = compute_dose("3e7", 15, per_kg=True, product="bm_mnc")
    assert d.needs_confirmation and d.range_product == "bm_mnc"
    assert "bone-marrow MNC (1 x 10^6 cells/kg)" in d.outside_published


@pytest.mark.parametrize("text", ["5 x 10^400", "1e400", "inf", "nan", float("inf")])
def test_overflowing_counts_are_a_coded_error(text):
    with pytest.raises(OutcomeError) as exc:
        parse_cell_count(text)
    assert exc.value.code == "not_finite"


def test_dose_per_kg_overflow_is_a_coded_error():
    # 1.7e308 cells in 0.5 kg: 3.4e308 cells/kg is beyond a float
    with pytest.raises(OutcomeError) as exc:
        compute_dose(1.7e308, 0.5)
    assert exc.value.code == "not_finite" and exc.value.field == "cell_count"
    assert sci(float("inf")) == "inf"

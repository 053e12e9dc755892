"""Cell counts, dose per kg and unit checks (range from the published trials)."""

import pytest

from cpstem.outcomes import OutcomeError
from cpstem.outcomes.catalog import data
from cpstem.outcomes.dose import compute_dose, parse_cell_count, sci


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

"""The GMFM-88 item catalogue against the CanChild score sheet."""

from cpstem.measures import gmfm


def test_88_items_in_five_dimensions():
    assert len(gmfm.ITEMS) == 88
    assert [i.number for i in gmfm.ITEMS] == list(range(1, 89))
    counts = {c: sum(i.dimension == c for i in gmfm.ITEMS) for c in "ABCDE"}
    assert counts == {"A": 17, "B": 20, "C": 14, "D": 13, "E": 24}


def test_dimension_ranges_and_maximum_raw_scores():
    dims = gmfm.DIMENSIONS
    assert [(d.first_item, d.last_item) for d in dims.values()] == [
        (1, 17),
        (18, 37),
        (38, 51),
        (52, 64),
        (65, 88),
    ]
    assert [d.max_raw for d in dims.values()] == [51, 60, 42, 39, 72]
    assert sum(d.max_raw for d in dims.values()) == 264
    assert dims["A"].name == "Lying & rolling"


def test_gmfm66_membership_matches_the_score_sheet_asterisks():
    excluded = {1, 3, 4, 5, 8, 9, *range(11, 18), 19, 20, 28, 29, 33, 38, 47, 49, 50}
    assert len(excluded) == 22
    assert set(gmfm.GMFM66_ITEMS) == set(range(1, 89)) - excluded
    per_dim = {c: sum(i.in_gmfm66 for i in gmfm.ITEMS if i.dimension == c) for c in "ABCDE"}
    assert per_dim == {"A": 4, "B": 15, "C": 10, "D": 13, "E": 24}


def test_every_item_has_a_short_title():
    assert all(0 < len(i.title) <= 80 for i in gmfm.ITEMS)
    assert gmfm.ITEM_BY_NUMBER[69].title == "Walks forward 10 steps"

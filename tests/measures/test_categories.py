"""SCPE subtype, topography and MRICS categories."""

import pytest

from cpstem.measures import MeasureError
from cpstem.measures.catalog import classifications
from cpstem.measures.mrics import MRICS
from cpstem.measures.scpe import Subtype, Topography


def test_scpe_subtypes():
    assert [s.value for s in Subtype] == [
        "spastic_unilateral",
        "spastic_bilateral",
        "dyskinetic_dystonic",
        "dyskinetic_choreoathetotic",
        "ataxic",
        "mixed_unclassified",
    ]
    assert Subtype.parse("Spastic unilateral (US-CP)") is Subtype.SPASTIC_UNILATERAL
    assert Subtype.parse("ATAXIC") is Subtype.ATAXIC
    assert Subtype.DYSKINETIC_DYSTONIC.group == "dyskinetic"
    with pytest.raises(MeasureError, match="CP subtype 'hypotonic' is not valid"):
        Subtype.parse("hypotonic")


def test_topography():
    assert Topography.parse("diplegia").laterality == "bilateral"
    assert Topography.HEMIPLEGIA.laterality == "unilateral"


def test_mrics_categories_a1_to_e():
    assert [m.value for m in MRICS] == ["A1", "A2", "B1", "B2", "B3", "C1", "C2", "C3", "D", "E"]
    assert MRICS.parse("b2") is MRICS.B2 and MRICS.B2.group == "B"
    assert MRICS.E.label == "Normal MRI"
    with pytest.raises(MeasureError, match="MRICS category 'F'"):
        MRICS.parse("F")
    assert ("C3", "Grey matter: arterial infarction") in MRICS.choices()


@pytest.mark.parametrize(
    ("enum", "section", "key"),
    [
        (Subtype, "scpe", "subtypes"),
        (Topography, "topography", "values"),
        (MRICS, "mrics", "categories"),
    ],
)
def test_code_enums_match_the_catalogue(enum, section, key):
    assert [e["code"] for e in classifications()[section][key]] == [m.value for m in enum]


def test_every_catalogue_section_cites_a_source():
    assert all(section.get("source") for section in classifications().values())

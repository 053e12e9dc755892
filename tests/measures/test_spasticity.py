"""Modified Ashworth and Modified Tardieu."""

import pytest

from cpstem.measures import MeasureError
from cpstem.measures.spasticity import (
    MAS,
    MASMeasurement,
    MuscleGroup,
    Side,
    Tardieu,
    TardieuVelocity,
)


def test_mas_labels_and_explicit_ordinal_coding():
    coding = {str(g): g.ordinal for g in MAS}
    assert coding == {"0": 0, "1": 1, "1+": 2, "2": 3, "3": 4, "4": 5}
    assert MAS.parse("1+") is MAS.G1_PLUS and str(MAS.parse(" 1 + ")) == "1+"
    assert MAS.parse(2) is MAS.G2 and MAS.from_ordinal(2) is MAS.G1_PLUS


def test_mas_is_ordered_by_ordinal():
    assert MAS.G1 < MAS.G1_PLUS < MAS.G2
    assert sorted([MAS.G4, MAS.G0, MAS.G1_PLUS]) == [MAS.G0, MAS.G1_PLUS, MAS.G4]
    assert max(MAS) is MAS.G4


@pytest.mark.parametrize("value", ["2+", "5", 5, 1.5, "", None, True, "-1", "1-"])
def test_mas_rejects_invalid_grades(value):
    with pytest.raises(MeasureError, match="use 0, 1, 1\\+, 2, 3 or 4"):
        MAS.parse(value)


def test_mas_from_ordinal_rejects_out_of_range():
    with pytest.raises(MeasureError, match="ordinal 6"):
        MAS.from_ordinal(6)


def test_mas_measurement_parses_muscle_and_side():
    m = MASMeasurement.create("Hip adductors", "R", "1+")
    assert (m.muscle, m.side, m.grade) == (MuscleGroup.HIP_ADDUCTORS, Side.RIGHT, MAS.G1_PLUS)


def test_standard_muscle_groups():
    assert len(MuscleGroup) == 10
    assert {m.limb for m in MuscleGroup} == {"upper", "lower"}
    assert MuscleGroup.parse("gastrocnemius_soleus").label == "Gastrocnemius / soleus"
    with pytest.raises(MeasureError, match="muscle group 'biceps' is not valid"):
        MuscleGroup.parse("biceps")
    with pytest.raises(MeasureError, match="side 'up'"):
        Side.parse("up")


def test_tardieu_dynamic_component_is_r2_minus_r1():
    # Hamstrings: catch at -70 deg, full range -50 deg (recorded "2/-70") -> 20 deg dynamic.
    t = Tardieu.create("hamstrings", "left", r1_deg="-70", r2_deg=-50, quality="2", velocity="V3")
    assert t.dynamic_component_deg == 20.0
    assert t.quality == 2 and t.velocity is TardieuVelocity.V3 and t.scale_version == "0-5"
    assert Tardieu.create("hamstrings", "L", r1_deg=10).dynamic_component_deg is None


def test_tardieu_scale_version_is_recorded_and_enforced():
    assert Tardieu.create("gastrocnemius_soleus", "R", quality=5).quality == 5
    with pytest.raises(MeasureError, match="quality grade 5 is not valid on the 0-4 scale"):
        Tardieu.create("gastrocnemius_soleus", "R", quality=5, scale_version="0-4")
    with pytest.raises(MeasureError, match="scale version '0-3'"):
        Tardieu.create("gastrocnemius_soleus", "R", scale_version="0-3")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"r1_deg": 60, "r2_deg": 50}, "R1 \\(catch, 60°\\) lies beyond R2"),
        ({"r1_deg": 200}, "between -180 and 180"),
        ({"r2_deg": "ten"}, "'ten' is not an angle"),
        ({"quality": 6}, "quality grade 6"),
        ({"quality": "2.5"}, "not a whole number"),
        ({"velocity": "V4"}, "velocity 'V4'"),
    ],
)
def test_tardieu_invalid_input(kwargs, message):
    with pytest.raises(MeasureError, match=message):
        Tardieu.create("hamstrings", "left", **kwargs)


@pytest.mark.parametrize(
    ("r2", "code"),
    [
        ("ten", "not_an_angle"),
        (True, "not_an_angle"),
        (200, "out_of_range"),
        ("nan", "out_of_range"),
    ],
)
def test_tardieu_angle_errors_carry_code_and_field(r2, code):
    with pytest.raises(MeasureError) as info:
        Tardieu.create("hamstrings", "left", r2_deg=r2)
    assert (info.value.code, info.value.field) == (code, "r2_deg")


@pytest.mark.parametrize(
    ("parse", "value", "code", "field"),
    [
        (MAS.parse, "5", "invalid_grade", "grade"),
        (MAS.parse, True, "invalid_grade", "grade"),
        (TardieuVelocity.parse, "V4", "invalid_velocity", "velocity"),
        (TardieuVelocity.parse, True, "invalid_velocity", "velocity"),
    ],
)
def test_grade_and_velocity_errors_are_coded(parse, value, code, field):
    with pytest.raises(MeasureError) as info:
        parse(value)
    assert (info.value.code, info.value.field, info.value.params) == (code, field, {"value": value})


def test_velocity_parse_and_labels():
    assert TardieuVelocity.parse(2) is TardieuVelocity.V2
    assert TardieuVelocity.parse("v1").label.startswith("As slow as possible")

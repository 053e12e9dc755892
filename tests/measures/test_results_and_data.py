"""Measures results serialise themselves; one factory for the level classes; one data-file
loader that refuses a record without a source; gmfm66_model does not import gmfm."""

from __future__ import annotations

import ast
import json
import pickle
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import cpstem.measures
from cpstem.datafiles import (
    DataFileError,
    check_csv_text,
    check_toml_records,
    csv_rows,
    toml_data,
)
from cpstem.measures import MeasureError, cfcs, gmfcs, gmfm, macs
from cpstem.measures.gmfm66 import parse_item_map
from cpstem.measures.levels import FunctionLevel, level_class
from tests.factories import item_map_text


def test_gmfm88_frame_has_one_row_per_dimension():
    # dimension A all 3 (51/51), B all 1 (20/60), the rest not tested
    items = dict.fromkeys(range(1, 18), 3) | dict.fromkeys(range(18, 38), 1)
    r = gmfm.score_gmfm88(items, goal_dimensions="B")
    frame = r.to_frame()
    assert list(frame.columns) == ["dimension", "name", "raw", "max_raw", "percent", "goal"]
    assert list(frame["dimension"]) == ["A", "B", "C", "D", "E"]
    assert list(frame["raw"]) == [51, 20, 0, 0, 0]
    assert list(frame["max_raw"]) == [51, 60, 42, 39, 72]
    assert frame["percent"][1] == pytest.approx(100 / 3)
    assert list(frame["goal"]) == [False, True, False, False, False]
    assert json.loads(json.dumps(r.to_dict()))["goal_total"] == pytest.approx(100 / 3)


def test_gmfm88_batch_frame_has_one_row_per_sheet_equal_to_the_single_scorer():
    m = np.full((2, 88), np.nan)
    m[0, :17] = 3
    m[1, 17:37] = 1
    b = gmfm.score_gmfm88_batch(m, goal_dimensions="A")
    frame = b.to_frame()
    assert list(frame.columns) == [
        "total",
        "goal_total",
        *(f"percent_{c}" for c in "ABCDE"),
        *(f"raw_{c}" for c in "ABCDE"),
        "n_not_tested",
    ]
    assert list(frame["total"]) == [20.0, pytest.approx(100 / 3 / 5)]
    assert list(frame["raw_A"]) == [51, 0] and list(frame["n_not_tested"]) == [71, 68]
    with pytest.raises(ValueError, match="read-only"):
        b.total[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        b.dimension_percent["A"][0] = 0.0
    m[0, 0] = 0.0  # the caller's matrix is the caller's
    assert b.dimension_raw["A"][0] == 51


def test_gmfm66_result_and_item_map_serialise():
    imap = parse_item_map(item_map_text())
    r = gmfm.score_gmfm66({2: 1, 6: 2}, imap)
    data = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert data["estimate"] == pytest.approx(50.0) and data["raw_score"] == 3
    assert data["warnings"] and data["item_map"] == "synthetic-test-map"
    assert r.to_frame()["n_items"][0] == 2
    frame = imap.to_frame()
    assert len(frame) == 66 and list(frame.columns[:2]) == ["item", "step1_logit"]
    assert frame["step3_logit"][0] == 1.0
    with pytest.raises(TypeError):
        imap.thresholds[2] = (0.0, 0.0, 0.0)  # type: ignore[index]


def test_level_classes_come_from_one_factory():
    for module, system in ((gmfcs, "gmfcs"), (macs, "macs"), (cfcs, "cfcs")):
        assert issubclass(module.Level, FunctionLevel) and module.Level.system() == system
        assert [str(lv) for lv in module.Level] == ["I", "II", "III", "IV", "V"]
        assert module.Level.__module__ == module.__name__
    assert gmfcs.Level.III is not macs.Level.III and gmfcs.Level.III == macs.Level.III == 3
    assert pickle.loads(pickle.dumps(cfcs.Level.IV)) is cfcs.Level.IV
    with pytest.raises(MeasureError) as info:
        macs.Level.parse("VI")
    assert (info.value.code, info.value.field) == ("invalid_choice", "macs")
    with pytest.raises(MeasureError, match="no classification 'xyz'"):
        level_class("xyz", __name__, "")


def test_gmfm66_model_does_not_import_gmfm():
    folder = Path(cpstem.measures.__file__).parent
    tree = ast.parse((folder / "gmfm66_model.py").read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert "cpstem.measures.gmfm" not in imported and "cpstem.measures.gmfm66" not in imported
    from cpstem.measures import gmfm66

    assert gmfm66.score_gmfm66 is gmfm.score_gmfm66 and gmfm66.ItemMap is gmfm.ItemMap


def test_a_csv_row_without_source_is_refused_naming_file_and_row():
    text = "item,value,source\n1,2,Smith 2020\n2,3,\n"
    with pytest.raises(DataFileError) as info:
        check_csv_text(text, "measures/data/x.csv")
    err = info.value
    assert "measures/data/x.csv, row 2 (line 3)" in str(err)
    assert (err.code, err.field, err.params["row"]) == ("missing_source", "source", 2)
    with pytest.raises(DataFileError, match="row 1"):
        check_csv_text("item,value\n1,2\n", "y.csv")  # no source column at all
    assert check_csv_text(text.replace(",\n", ",Jones 2021\n"), "x.csv")[1]["value"] == "3"


@pytest.mark.parametrize(
    ("data", "row"),
    [
        ({"levels": [{"limit": 1.0, "source": "a"}, {"limit": 2.0}]}, "levels[1]"),
        ({"weight": {"min": 0.5}}, "weight"),
        ({"limit": 3}, "(top level)"),
        ({"gmfcs": {"source": "", "levels": [{"code": "I", "n": 1}]}}, "gmfcs.levels[0]"),
    ],
)
def test_a_toml_record_without_source_is_refused(data, row):
    with pytest.raises(DataFileError) as info:
        check_toml_records(data, "x.toml")
    assert info.value.params == {"file": "x.toml", "row": row, "line": None}
    assert f"x.toml, row {row}" in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        {"source": "file-level", "visits": [{"months": 0}]},  # one source for the file
        {"dose": {"min": 1, "min_source": "a", "max": 2, "max_source": "b"}},
        {"licence": {"note": "text only needs no source"}},
        {"gmfcs": {"source": "s", "levels": [{"code": "I", "rank": 1}]}},
    ],
)
def test_sourced_toml_records_are_accepted(data):
    check_toml_records(data, "x.toml")


@pytest.mark.parametrize(
    ("package", "folder"),
    [
        ("cpstem.measures", "data"),
        ("cpstem.evidence", "data"),
        ("cpstem.outcomes", "data"),
        ("cpstem.reference", "sets"),
    ],
)
def test_every_packaged_data_file_names_its_sources(package, folder):
    names = sorted(
        p.name
        for p in resources.files(package).joinpath(folder).iterdir()
        if p.name.endswith((".csv", ".toml"))
    )
    assert names
    for name in names:
        if name.endswith(".csv"):
            assert all(row["source"].strip() for row in csv_rows(package, f"{folder}/{name}"))
        else:
            assert toml_data(package, f"{folder}/{name}")


def test_the_loader_refuses_a_missing_file():
    assert toml_data("cpstem.measures", "data/gmfm66.toml")["minimum_items"]["value"] == 13
    with pytest.raises(DataFileError) as info:
        toml_data("cpstem.measures", "data/nope.toml")
    assert info.value.code == "not_found"


def test_spasticity_measurements_serialise_as_codes():
    from cpstem.measures.spasticity import MASMeasurement, Tardieu

    mas = MASMeasurement.create("Hamstrings", "L", "1+")
    assert mas.to_dict() == {"muscle": "hamstrings", "side": "left", "grade": "1+", "ordinal": 2}
    t = Tardieu.create("gastrocnemius_soleus", "right", r1_deg=-10, r2_deg=15, quality="2")
    data = t.to_dict()
    assert type(data["muscle"]) is str and data["velocity"] == "V3"
    assert data["dynamic_component_deg"] == 25.0
    assert t.to_frame()["side"][0] == "right"

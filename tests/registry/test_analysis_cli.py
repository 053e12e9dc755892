"""``cpstem export --analysis`` run as a command (SQLite, or PostgreSQL with --db=postgresql)."""

from __future__ import annotations

import pandas as pd

from cpstem.outcomes.ipd import COLUMNS


def test_export_analysis_command(registry, tmp_path):
    registry.run("demo", "load", "--per-site", "4")
    r = registry.run("export", "--analysis", str(tmp_path / "t.parquet"))
    assert "analysis table" in r.stdout and "spasticity table" in r.stdout
    table = pd.read_parquet(tmp_path / "t.parquet")
    assert list(table.columns) == [
        *COLUMNS,
        "dose_cells_per_kg_cumulative",
        "synthetic",
        "blinded_assessor",
    ]
    assert table["child"].str.match(r"^R[0-9A-F]{10}$").all() and table["synthetic"].all()
    assert set(table["group"]) <= {"cells", "control"}
    labs = pd.read_parquet(tmp_path / "t-labs.parquet")
    assert list(labs.columns) == ["child", "group", "analyte", "unit", "months", "value"]
    r = registry.run(
        "export",
        "--analysis",
        str(tmp_path / "t.csv"),
        "--spasticity",
        str(tmp_path / "sp" / "mas.csv"),
        "--labs",
        str(tmp_path / "lab.csv"),
    )
    assert (tmp_path / "sp" / "mas.csv").is_file() and (tmp_path / "lab.csv").is_file()
    text = (tmp_path / "t.csv").read_text()
    assert "SYN-" not in text and "birth" not in text
    r = registry.run("export", "--analysis", str(tmp_path / "t.xlsx"), check=False)
    assert r.returncode == 1 and "use a .csv or .parquet name" in r.stderr
    r = registry.run("export", "--labs", str(tmp_path / "l.csv"), check=False)
    assert r.returncode == 1 and "go with --analysis" in r.stderr
    help_text = registry.run("export", "--help").stdout
    for name in COLUMNS:
        assert name in help_text, name

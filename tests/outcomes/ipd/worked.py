"""A hand-made analysis table for the worked examples."""

from __future__ import annotations

import numpy as np
import pandas as pd


def worked_table() -> pd.DataFrame:
    """Five children; the 12-month window is 9-15 months (data/ipd_analysis.toml).

    a: visits 0, 12 -> excess 1          (cells, GMFCS 1)
    b: visits 0, 10, 13 -> 13 is nearest  (cells, GMFCS 1), excess 3 (10-month row: 100)
    c: visits 0, 11 -> excess 5           (control, GMFCS 3)
    d: visits 0, 14 -> excess 7           (control, GMFCS 3)
    e: visits 0, 16 -> outside the window, left out
    """
    rows = [
        # child, group, gmfcs, months, gmfm66, se, excess
        ("a", "cells", 1, 0, 50.0, 1.0, 0.0),
        ("a", "cells", 1, 12, 55.0, 1.5, 1.0),
        ("b", "cells", 1, 0, 40.0, 2.0, 0.0),
        ("b", "cells", 1, 10, 99.0, 1.0, 100.0),
        ("b", "cells", 1, 13, 43.0, 1.0, 3.0),
        ("c", "control", 3, 0, 30.0, 1.0, 0.0),
        ("c", "control", 3, 11, 30.5, 1.0, 5.0),
        ("d", "control", 3, 0, 20.0, 1.2, 0.0),
        ("d", "control", 3, 14, 17.0, 1.6, 7.0),
        ("e", "cells", 2, 0, 60.0, 1.0, 0.0),
        ("e", "cells", 2, 16, 70.0, 1.0, 9.0),
    ]
    f = pd.DataFrame(
        rows, columns=["child", "group", "gmfcs", "months", "gmfm66", "gmfm66_se", "excess"]
    )
    f["gmfm66_baseline"] = f.groupby("child")["gmfm66"].transform("first")
    f["excess_anchored"] = f["excess"]
    f["excess_population"] = f["excess"] - 1.0
    f["age_baseline_years"] = f["child"].map({"a": 1.5, "b": 3.0, "c": 6.0, "d": 12.0, "e": 4})
    f["dose_cells_per_kg"] = np.where(f["group"] == "cells", 2e7, np.nan)
    f["product"] = np.where(f["group"] == "cells", "UCB", "")
    return f.drop(columns="excess")

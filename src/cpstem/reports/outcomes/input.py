"""Reading a user's analysis table (``cpstem export --analysis`` output) from CSV or Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cpstem.outcomes.errors import OutcomeError


def read_analysis_table(path: str | Path) -> pd.DataFrame:
    """The analysis table in ``path`` (``.csv`` or ``.parquet``); one clear error if unreadable.

    Its columns are checked by each analysis (:func:`cpstem.outcomes.ipd.validate_table`).
    Text columns stay text (``child``, ``site``, ``group``, ``product``, ``route``).
    """
    path = Path(path)
    if not path.is_file():
        raise OutcomeError(
            f"{path}: no such file", code="not_found", field="path", params={"path": str(path)}
        )
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(
            path,
            comment="#",
            dtype={c: str for c in ("child", "site", "group", "product", "route")},
            keep_default_na=False,
            na_values=[""],
        )
    except (ValueError, OSError, ImportError) as exc:
        raise OutcomeError(
            f"{path}: cannot be read as an analysis table ({exc})",
            code="malformed_file",
            field="path",
            params={"path": str(path)},
        ) from None

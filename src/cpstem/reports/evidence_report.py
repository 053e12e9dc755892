"""``cpstem evidence run``: a report folder pooling the bundled trials or a user's own file.

The folder holds ``report.html``, ``report.pdf`` and ``report.md`` (same content),
``results.json`` (the key figures), ``figures/`` (forest and funnel plots, PNG) and ``tables/``
(CSV, formula-escaped).

This module keeps the public entry points; the code lives in :mod:`cpstem.reports.evidence`
(one module per reason to change).
"""

from __future__ import annotations

from typing import Any

from cpstem.reports.evidence.bundled import run_bundled
from cpstem.reports.evidence.numbers import RATIO
from cpstem.reports.evidence.sections import MIN_K_BIAS
from cpstem.reports.evidence.settings import Settings
from cpstem.reports.evidence.user import run_user
from cpstem.reports.evidence.writer import ReportOutput

__all__ = ["MIN_K_BIAS", "RATIO", "ReportOutput", "Settings", "run_bundled", "run_user"]


def __getattr__(name: str) -> Any:
    # SUBGROUPS (trial attributes the bundled analyses are split by, with their titles) now
    # comes from evidence/data/bundled_report.toml; read it only when asked for.
    if name == "SUBGROUPS":
        from cpstem.reports.evidence.choices import load_choices

        return load_choices().subgroup_columns
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

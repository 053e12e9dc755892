"""Inputs of the synthesis and sensitivity commands (``cpstem evidence multilevel``, ``selmodel``,
``hc``, ``pet-peese``, ``profile``, ``baujat``, ``gosh``, ``bayes``): the bundled trials or a
user's study table as effect sizes with the trial (cluster) of each row.

Bundled data: ``MD`` is the primary analysis (mean difference in GMFM-66 points, randomised
trials, rows flagged for extraction doubts left out), ``SMD`` the secondary one (any GMFM
version), at one time point (``months``) or at all the report's time points (``months=None``:
several rows per trial, for the multilevel model). ``with_flagged`` adds the flagged rows as
published (the report's sensitivity analysis).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cpstem import evidence as ev
from cpstem.evidence.errors import EvidenceError

BUNDLED_MEASURES = ("MD", "SMD")


@dataclass(frozen=True)
class SynthesisInput:
    """Effect sizes, the trial of each row (``cluster``) and a description of the data."""

    es: ev.EffectSizes
    cluster: tuple[str, ...]
    source: str

    @property
    def k(self) -> int:
        return len(self.es.yi)

    def describe(self) -> dict[str, object]:
        """The data as JSON-safe text and numbers (for ``--json``)."""
        return {
            "source": self.source,
            "measure": self.es.measure,
            "k": self.k,
            "clusters": len(set(self.cluster)),
            "rows": [
                {"label": lab, "cluster": c, "yi": float(y), "vi": float(v)}
                for lab, c, y, v in zip(
                    self.es.labels or self.cluster,
                    self.cluster,
                    self.es.yi,
                    self.es.vi,
                    strict=True,
                )
            ],
        }


def bundled_input(
    measure: str = "MD", months: int | None = 12, with_flagged: bool = False
) -> SynthesisInput:
    """The bundled randomised trials as effect sizes (see the module documentation)."""
    from cpstem.evidence.bundled import load_bundle
    from cpstem.reports.evidence.bundled import (
        MotorData,
        _es,
        primary_rows,
        secondary_rows,
    )
    from cpstem.reports.evidence.choices import load_choices
    from cpstem.reports.evidence.settings import Settings

    m = measure.upper()
    if m not in BUNDLED_MEASURES:
        raise EvidenceError(
            f"measure {measure!r}: the bundled trials give MD (GMFM-66 points, primary) or SMD "
            "(any GMFM version, secondary)",
            code="unsupported_measure",
            field="measure",
            params={"measure": measure, "allowed": list(BUNDLED_MEASURES)},
        )
    bundle = load_bundle()
    choices = load_choices()
    data = MotorData.build(bundle, choices, Settings())
    points = sorted(data.tables)
    if months is not None and months not in data.tables:
        raise EvidenceError(
            f"months {months}: the bundled comparisons are at {', '.join(map(str, points))} months",
            code="invalid_choice",
            field="months",
            params={"value": months, "allowed": points},
        )
    frames = []
    for mo in points if months is None else [months]:
        table = data.tables[mo]
        if with_flagged:
            rows = table[table["randomised"]]
            if m == "MD":
                rows = rows[rows["scale"].isin(choices.primary.scales)]
        else:
            rows = primary_rows(table, choices) if m == "MD" else secondary_rows(table)
        frames.append(rows.assign(months=mo))
    rows = pd.concat(frames, ignore_index=True)
    if not len(rows):
        raise EvidenceError(
            f"no bundled {m} comparison at {months} months: try --months "
            f"{' or '.join(map(str, points))}, --measure SMD or --with-flagged",
            code="empty",
            field="months",
            params={"measure": m, "months": months},
        )
    es = _es(bundle, rows, m)
    labels = tuple(
        f"{lab} ({mo} mo)" if months is None else lab
        for lab, mo in zip(es.labels or (), rows["months"], strict=True)
    )
    es = ev.EffectSizes(m, es.yi, es.vi, labels, es.ni)
    what = "GMFM-66 points, primary" if m == "MD" else "SMD across GMFM versions, secondary"
    when = "all time points" if months is None else f"{months} months"
    flagged = ", flagged rows included" if with_flagged else ""
    return SynthesisInput(
        es=es,
        cluster=tuple(str(t) for t in rows["trial"]),
        source=f"bundled randomised trials: {m} ({what}), {when}{flagged}",
    )


def file_input(path: Path, measure: str, cluster: str | None = None) -> SynthesisInput:
    """A user's study table (``cpstem evidence format``); ``cluster``: the column naming the
    trial of each row (several rows per trial for the multilevel model); without it every row
    is its own trial."""
    from cpstem.reports.evidence.user import effect_sizes
    from cpstem.reports.evidence_input import read_study_table

    table = read_study_table(path, measure, subgroup=cluster)
    es = effect_sizes(table)
    if cluster is not None and table.subgroups is not None:
        for line, value in zip(table.lines, table.subgroups, strict=True):
            if value == "(none)":
                raise EvidenceError(
                    f"{table.source} line {line}, column {cluster}: the trial (cluster) is missing",
                    code="required",
                    field=cluster,
                    params={"source": table.source, "line": line, "column": cluster},
                )
        groups = tuple(table.subgroups)
    else:
        groups = tuple(table.studies)
    usable = np.isfinite(es.yi) & np.isfinite(es.vi)
    if not usable.all():
        bad = [
            f"line {line} ({lab})"
            for line, lab, ok in zip(table.lines, table.studies, usable, strict=True)
            if not ok
        ]
        raise EvidenceError(
            f"{table.source}: no estimable effect at {', '.join(bad)} (e.g. no events in "
            "either group); remove the row(s) for this analysis",
            code="not_estimable",
            field="yi",
            params={"source": table.source, "rows": bad},
        )
    return SynthesisInput(es=es, cluster=groups, source=f"{table.source} ({measure.upper()})")

"""The report on a user's own study table (``cpstem evidence run FILE.csv``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cpstem import __version__
from cpstem import evidence as ev
from cpstem.evidence.errors import EvidenceError
from cpstem.evidence.sanity import check_study_table
from cpstem.reports.document import Heading, Para
from cpstem.reports.evidence import sections
from cpstem.reports.evidence.settings import Settings
from cpstem.reports.evidence.tsa_section import tsa_section
from cpstem.reports.evidence.writer import ReportOutput, ReportWriter
from cpstem.reports.evidence_input import BINARY, StudyTable


def run_user(table: StudyTable, folder: Path, settings: Settings | None = None) -> ReportOutput:
    """Pool a user's own studies (see :mod:`cpstem.reports.evidence_input` for the format)."""
    s = settings or Settings(measure=table.measure)
    if s.measure != table.measure:
        raise EvidenceError(
            f"the table was read for {table.measure}, not {s.measure}",
            code="measure_mismatch",
            field="measure",
            params={"table": table.measure, "settings": s.measure},
        )
    w = ReportWriter(folder, f"Meta-analysis of {table.source} ({table.measure})")
    w.results["settings"] = s.__dict__ | {"data": table.source, "cpstem": __version__}
    sections.intro(w, s, f"{table.source} ({table.k} studies)")
    es = effect_sizes(table)
    usable = np.isfinite(es.yi) & np.isfinite(es.vi)
    if not usable.all():
        dropped = [lab for lab, ok in zip(table.studies, usable, strict=True) if not ok]
        w.doc.add(
            Para(
                "Left out (no estimable effect, e.g. no events in either group): "
                + ", ".join(dropped),
                "warning",
            )
        )
        w.results["not_pooled"] = dropped
    groups = None
    if table.subgroups is not None:
        groups = pd.DataFrame({"subgroup": table.subgroups})
    w.doc.add(Heading("Pooled analysis", 2))
    sections.analysis(
        w,
        "main",
        f"{table.measure} ({table.k} studies)",
        es,
        s,
        groups,
        None,
        {"subgroup": "subgroup"} if groups is not None else None,
    )
    if table.measure in ("MD", "SMD") and usable.all() and table.k >= 2:
        _tsa(w, table, es, s)
    if table.measure in BINARY and usable.sum() >= 1:
        sparse_binary(w, table, s)
    if table.k >= 3 and usable.all():
        res = ev.rma(es, method=s.method, test=s.test, level=s.level)
        w.doc.add(Para(sections.influence_text(ev.influence(res))))
    sanity_section(w, table)
    sections.methods(w, s)
    return w.finish()


def sanity_section(w: ReportWriter, table: StudyTable) -> None:
    """The extraction sanity checks of the file (:func:`cpstem.evidence.sanity.check_study_table`):
    a table in the report, ``sanity`` in results.json and a line per warning for the terminal."""
    warnings = check_study_table(table)
    w.results["sanity"] = [x.to_dict() for x in warnings]
    w.doc.add(Heading("Extraction checks", 2))
    if not warnings:
        w.doc.add(Para("No row looks mis-extracted (cpstem.evidence.sanity)."))
        return
    frame = pd.DataFrame([x.to_dict() for x in warnings])[["code", "row", "field", "message"]]
    w.table("sanity_warnings", frame, "Rows to look at again (cpstem.evidence.sanity)")
    w.out.notes.extend(f"  warning: {x.summary()}" for x in warnings)


def effect_sizes(table: StudyTable) -> ev.EffectSizes:
    """The effect sizes of a user's table (``GEN``: the given ``yi`` with ``vi`` or ``sei^2``)."""
    cols = dict(table.columns)
    if table.measure == "GEN":
        return ev.EffectSizes(
            "GEN",
            cols["yi"],
            cols["vi"] if "vi" in cols else cols["sei"] ** 2,
            tuple(table.studies),
            np.full(table.k, np.nan),
        )
    return ev.effect_sizes(table.measure, labels=table.studies, **cols)


def sparse_binary(w: ReportWriter, table: StudyTable, s: Settings) -> None:
    """Mantel-Haenszel (and Peto for odds ratios): fixed-effect methods for sparse events."""
    cols = dict(table.columns)
    mh = ev.rma_mh(table.measure if table.measure != "PETO" else "OR", level=s.level, **cols)
    fits = {f"Mantel-Haenszel {mh.measure}": mh}
    if table.measure in ("OR", "PETO"):
        peto = ev.rma_peto(level=s.level, **cols)
        fits[f"Peto {peto.measure}"] = peto
    w.table(
        "main_fixed_effect_sparse",
        sections.pooled_tables_table(fits, s.level),
        "Methods for sparse binary data (fixed effect)",
    )


def _tsa(w: ReportWriter, table: StudyTable, es: ev.EffectSizes, s: Settings) -> None:
    """TSA in the file's order (MD: needs ``--mcid``; the SD is pooled from the trials)."""
    cols = dict(table.columns)
    n1, n2 = np.asarray(cols["n1i"], float), np.asarray(cols["n2i"], float)
    sd1, sd2 = np.asarray(cols["sd1i"], float), np.asarray(cols["sd2i"], float)
    pooled_sd = float(np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2).sum() / (n1 + n2 - 2).sum()))
    res = ev.rma(es, method=s.method, test=s.test, level=s.level)
    if table.measure == "MD" and s.mcid is None:
        w.doc.add(
            Para(
                "No trial sequential analysis: a mean difference needs the MCID (--mcid); no "
                "verified GMFM-66 MCID is bundled.",
                "note",
            )
        )
        return
    tsa_section(
        w,
        "main",
        f"{table.measure} ({table.k} studies)",
        res,
        n1 + n2,
        np.arange(table.k, dtype=float),
        table.measure,
        delta=s.mcid if table.measure == "MD" else s.tsa_delta,
        sd=pooled_sd if table.measure == "MD" else None,
    )

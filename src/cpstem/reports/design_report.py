"""``cpstem design report``: the next trial's design as HTML, Markdown and PDF.

Sections: design summary (sample size), power curve, sample size justification paragraph,
group-sequential boundaries table, and (if given) assurance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cpstem.reports.document import Document, Heading, Image, Para, Table


@dataclass
class DesignReportOutput:
    folder: Path
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_design_report(
    folder: Path,
    size: Any,
    design: Any | None = None,
    *,
    assurance: Any | None = None,
    justification: str | None = None,
    title: str = "Design of the next trial",
) -> DesignReportOutput:
    """Write ``report.md``, ``report.html``, ``report.pdf``, ``figures/power_curve.png`` and
    ``results.json`` for a :class:`~cpstem.design.SampleSize` (optionally with a
    :class:`~cpstem.design.GroupSequentialDesign` and an
    :class:`~cpstem.design.assurance.Assurance`)."""
    from cpstem.design.justification import power_curve_plot, sample_size_justification
    from cpstem.plotting import save_figure

    folder = Path(folder)
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    out = DesignReportOutput(folder)
    doc = Document(title)
    doc.add(Heading("Design summary"), Para(size.summary()))
    doc.add(Table(size.to_frame(), "Participants per arm"))
    fig_path = folder / "figures" / "power_curve.png"
    save_figure(power_curve_plot(size), fig_path)
    out.files.append(fig_path)
    doc.add(Heading("Power curve"), Image("figures/power_curve.png", "Power against n per arm"))
    text = justification or sample_size_justification(
        size, assurance=None if assurance is None else assurance.assurance
    )
    doc.add(Heading("Sample size justification"), Para(text))
    if assurance is not None:
        doc.add(Heading("Assurance"), Para(assurance.summary()))
    if design is not None:
        doc.add(Heading("Group-sequential design"), Para(design.summary()))
        frame = design.to_frame()
        doc.add(
            Table(frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame), "Boundaries")
        )
    for name, body in (("report.md", doc.markdown()), ("report.html", doc.html())):
        path = folder / name
        path.write_text(body, encoding="utf-8")
        out.files.append(path)
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        out.notes.append(f"report.pdf not written: WeasyPrint is unavailable ({exc})")
    else:
        path = folder / "report.pdf"
        HTML(filename=str(folder / "report.html")).write_pdf(path)
        out.files.append(path)
    results = {"sample_size": size.to_dict(), "justification": text}
    if design is not None:
        results["group_sequential"] = design.to_dict()
    if assurance is not None:
        results["assurance"] = assurance.to_dict()
    path = folder / "results.json"
    path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    out.files.append(path)
    return out

"""Writing one report folder: ``report.html``, ``report.pdf``, ``report.md``, ``results.json``,
``figures/*.png`` and ``tables/*.csv`` (formula-escaped)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cpstem.reports.document import Document, Image, Table
from cpstem.results import jsonable
from cpstem.spreadsheet import safe_frame

__all__ = ["ReportOutput", "ReportWriter", "jsonable"]


@dataclass
class ReportOutput:
    """What was written, and the key figures (also in ``results.json``)."""

    folder: Path
    results: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"Report written to {self.folder}"]
        for name, res in self.results.get("analyses", {}).items():
            if "estimate" in res:
                lines.append(
                    f"  {name}: {res['measure']} {res['estimate']:.2f} "
                    f"[{res['ci_lower']:.2f}, {res['ci_upper']:.2f}], k = {res['k']}, "
                    f"I2 = {res['i2']:.0f}%"
                )
        return "\n".join(lines + self.notes)


class ReportWriter:
    """Collects the document, figures and tables of one report folder, then writes it."""

    def __init__(self, folder: Path, title: str) -> None:
        self.folder = folder
        self.doc = Document(title)
        self.out = ReportOutput(folder)
        (folder / "figures").mkdir(parents=True, exist_ok=True)
        (folder / "tables").mkdir(parents=True, exist_ok=True)

    @property
    def results(self) -> dict[str, Any]:
        """The key figures written to ``results.json``."""
        return self.out.results

    def figure(self, name: str, draw: Callable[[Path], Any], caption: str) -> None:
        """``draw(path)`` writes ``figures/<name>.png``; the document shows it with ``caption``."""
        path = self.folder / "figures" / f"{name}.png"
        draw(path)
        self.out.files.append(path)
        self.doc.add(Image(f"figures/{name}.png", caption))

    def table(self, name: str, frame: pd.DataFrame, caption: str, show: bool = True) -> None:
        """``tables/<name>.csv`` (text cells formula-escaped); shown in the document if ``show``."""
        path = self.folder / "tables" / f"{name}.csv"
        safe_frame(frame).to_csv(path, index=False)
        self.out.files.append(path)
        if show:
            self.doc.add(Table(frame, caption + f" (tables/{name}.csv)"))

    def finish(self) -> ReportOutput:
        """Write ``report.md``, ``report.html``, ``report.pdf`` and ``results.json``."""
        for name, text in (("report.md", self.doc.markdown()), ("report.html", self.doc.html())):
            path = self.folder / name
            path.write_text(text, encoding="utf-8")
            self.out.files.append(path)
        self._pdf()
        path = self.folder / "results.json"
        path.write_text(json.dumps(jsonable(self.out.results), indent=2), encoding="utf-8")
        self.out.files.append(path)
        return self.out

    def _pdf(self) -> None:
        """``report.pdf`` from the HTML with WeasyPrint (needs the system's Pango library)."""
        try:
            from weasyprint import HTML
        except (ImportError, OSError) as exc:  # OSError: Pango is not installed
            self.out.notes.append(f"report.pdf not written: WeasyPrint is unavailable ({exc})")
            return
        path = self.folder / "report.pdf"
        HTML(filename=str(self.folder / "report.html")).write_pdf(path)
        self.out.files.append(path)

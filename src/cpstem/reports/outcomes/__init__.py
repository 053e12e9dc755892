"""``cpstem outcomes report``: the registry cohort's analyses as a report folder.

``input.py`` reads the analysis table (CSV or Parquet), ``figures.py`` draws the plots,
``methods.py`` holds the methods text (every model and its assumptions) and ``report.py``
assembles the folder through the evidence report's :class:`ReportWriter` (HTML, PDF,
Markdown, ``results.json``, ``tables/*.csv``, ``figures/*.png``).
"""

from cpstem.reports.outcomes.input import read_analysis_table
from cpstem.reports.outcomes.report import OutcomesSettings, write_outcomes_report

__all__ = ["OutcomesSettings", "read_analysis_table", "write_outcomes_report"]

"""The evidence report of ``cpstem evidence run``, one module per reason to change.

* :mod:`.settings` - the model choices (measure, estimator, test, confidence level);
* :mod:`.writer` - the report folder: HTML, PDF, Markdown, ``results.json``, figures, CSV tables;
* :mod:`.numbers` - how estimates, intervals and p-values are written;
* :mod:`.sections` - sections any meta-analysis has (model, forest, subgroups, sensitivity,
  small-study effects, sparse events, methods) and one function per table;
* :mod:`.choices` - the bundled report's choices about named trials
  (``evidence/data/bundled_report.toml``);
* :mod:`.bundled` - the bundled stem-cell evidence narrative;
* :mod:`.user` - the report on a user's own CSV file.
"""

from cpstem.reports.evidence.bundled import run_bundled
from cpstem.reports.evidence.settings import Settings
from cpstem.reports.evidence.user import run_user
from cpstem.reports.evidence.writer import ReportOutput, ReportWriter

__all__ = ["ReportOutput", "ReportWriter", "Settings", "run_bundled", "run_user"]

"""Meta-analysis engine and the bundled stem-cell evidence for CP."""

from cpstem.evidence.errors import EvidenceError

__all__ = ["EvidenceError"]

"""The exception family of :mod:`cpstem.evidence`."""

from cpstem.errors import CpstemError


class EvidenceError(CpstemError):
    """Invalid meta-analysis input or an impossible fit: the message says what is allowed."""

"""The exception family of :mod:`cpstem.evidence`."""


class EvidenceError(ValueError):
    """Invalid meta-analysis input: the message says what was wrong and what is allowed."""

"""The exception family of :mod:`cpstem.evidence`."""


class EvidenceError(ValueError):
    """Invalid meta-analysis input or an impossible fit: the message says what is allowed."""

"""The exception family of :mod:`cpstem.registry`."""

from __future__ import annotations

from cpstem.errors import CpstemError


class RegistryError(CpstemError):
    """A registry operation that cannot be done as asked (unknown user, bad file, ...)."""


class FieldErrors(RegistryError):
    """Validation failed: ``errors`` maps field names to messages ("__all__" for the record)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(
            "; ".join(
                f"{k}: {' '.join(v)}" if k != "__all__" else " ".join(v) for k, v in errors.items()
            )
        )

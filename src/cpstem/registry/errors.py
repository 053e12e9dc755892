"""The exception family of :mod:`cpstem.registry`.

Importable without Django (the command line imports it before it starts Django): Django's
``ValidationError`` is imported where it is converted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cpstem.errors import CpstemError

if TYPE_CHECKING:
    from django.core.exceptions import ValidationError

#: The key of errors of the record as a whole (Django's ``NON_FIELD_ERRORS``).
NON_FIELD_ERRORS = "__all__"


class RegistryError(CpstemError):
    """A registry operation that cannot be done as asked (unknown user, bad file, ...)."""


@dataclass(frozen=True)
class FieldError:
    """One refusal of one field: the message, its machine-readable ``code`` and ``params``."""

    message: str
    code: str = "invalid"
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, error: str | FieldError | ValidationError | CpstemError) -> FieldError:
        from django.core.exceptions import ValidationError

        if isinstance(error, FieldError):
            return error
        if isinstance(error, ValidationError):
            params = dict(error.params or {})
            return cls(" ".join(error.messages), error.code or "invalid", params)
        if isinstance(error, CpstemError):
            return cls(error.message, error.code, dict(error.params))
        return cls(str(error))


class FieldErrors(RegistryError):
    """Validation failed: ``details`` maps field names ("__all__" for the record as a whole) to
    :class:`FieldError` (message, code, params); ``errors`` to the messages alone."""

    default_code = "invalid_input"

    def __init__(self, errors: Mapping[str, Sequence[str | FieldError | ValidationError]]):
        self.details: dict[str, list[FieldError]] = {
            k: [FieldError.of(e) for e in v] for k, v in errors.items()
        }
        self.errors: dict[str, list[str]] = {
            k: [e.message for e in v] for k, v in self.details.items()
        }
        super().__init__(
            "; ".join(
                f"{k}: {' '.join(v)}" if k != NON_FIELD_ERRORS else " ".join(v)
                for k, v in self.errors.items()
            ),
            params={"fields": list(self.errors)},
        )

    @property
    def codes(self) -> dict[str, list[str]]:
        """field -> the codes of its errors (parallel to :attr:`errors`)."""
        return {k: [e.code for e in v] for k, v in self.details.items()}

    @classmethod
    def of_validation_error(cls, exc: ValidationError) -> FieldErrors:
        """The errors of a Django ``ValidationError`` (codes and params kept)."""
        if hasattr(exc, "error_dict"):
            return cls({k: [FieldError.of(e) for e in v] for k, v in exc.error_dict.items()})
        return cls({NON_FIELD_ERRORS: [FieldError.of(e) for e in exc.error_list]})

    @classmethod
    def one(
        cls, field_name: str, message: str, code: str, params: Mapping[str, Any] | None = None
    ) -> FieldErrors:
        """A single refusal of one field."""
        return cls({field_name: [FieldError(message, code, dict(params or {}))]})

    def renamed(self, names: Mapping[str, str]) -> FieldErrors:
        """The same errors with fields renamed (model field -> the name an entry path uses)."""
        out: dict[str, list[FieldError]] = {}
        for k, v in self.details.items():
            out.setdefault(names.get(k, k), []).extend(v)
        return FieldErrors(out)

    def as_validation_error(self) -> ValidationError:
        """The errors as a Django ``ValidationError`` (for forms)."""
        from django.core.exceptions import ValidationError

        return ValidationError(
            {
                k: [ValidationError(e.message, code=e.code) for e in v]
                for k, v in self.details.items()
            }
        )


class StaleVersion(RegistryError):
    """An update or delete based on a version of the record that is no longer the current one:
    someone else saved (or deleted) it in between. Nothing was written.

    ``expected`` is the version the editor started from, ``current`` the version now stored
    (``None`` when the record was deleted), ``record`` the record as now stored (or ``None``).
    """

    default_code = "stale_version"

    def __init__(self, expected: int, current: int | None, record: Any = None, label: str = ""):
        self.expected, self.current, self.record = expected, current, record
        what = label or "this record"
        if current is None:
            message = f"{what} was deleted by someone else while you were editing it"
            code = "deleted"
        else:
            message = (
                f"{what} was changed by someone else while you were editing it (you started "
                f"from version {expected}, it is now at version {current}); nothing was saved"
            )
            code = self.default_code
        super().__init__(message, code=code, params={"expected": expected, "current": current})


class HasDependants(RegistryError):
    """A delete refused because other records depend on the record (``dependants``: their
    descriptions); they must be changed or deleted first."""

    default_code = "has_dependants"

    def __init__(self, label: str, dependants: Sequence[str]):
        self.dependants = list(dependants)
        super().__init__(
            f"{label} cannot be deleted: {', '.join(self.dependants)} depend on it; "
            "change or delete them first",
            code=self.default_code,
            params={"dependants": self.dependants},
        )


class Locked(RegistryError):
    """A change refused because the patient (or the patient's whole site) is locked, e.g. for an
    analysis freeze: nothing was written. ``lock`` describes the lock in force (scope, who,
    since when, why) for the page or the API answer (423 Locked)."""

    default_code = "locked"

    def __init__(self, message: str, lock: Mapping[str, Any]):
        self.lock = dict(lock)
        super().__init__(message, code=self.default_code, params={"lock": self.lock})


class SignatureRefused(RegistryError):
    """An electronic signature refused: wrong password (``wrong_password``, counted by the
    log-in throttling), too many failures (``locked_out``), a role that may not sign
    (``not_allowed``) or an unknown meaning (``unknown_meaning``)."""

    default_code = "signature_refused"

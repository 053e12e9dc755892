"""The rules of a change to a saved record, used by the write path (:mod:`.write`): the reason
for change (GCP: every update and delete says why, kept in the audit trail), the version check
against lost updates (optimistic locking) and what depends on a record that is to be deleted.

Deleting a record others depend on, as a monitor expects it:

- data *derived* from the record goes with it, listed on the confirmation page and kept in the
  audit trail with the same reason: the GMFM-66 computed from a GMFM-88 sheet (the item map),
  the follow-up visits planned from an administration (rebuilt from the remaining ones);
- data *entered* that refers to the record is never deleted as a side effect: the delete is
  refused, naming it (the adverse events attributed to an administration; every record of a
  patient), so that each is corrected or deleted on its own, with its own reason.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection

from django.db import models

from cpstem.registry.errors import FieldErrors, HasDependants, StaleVersion
from cpstem.registry.models import (
    PATIENT_RECORDS,
    Administration,
    GMFM66Assessment,
    GMFM88Assessment,
    Patient,
)
from cpstem.registry.models.base import Versioned

#: The longest reason the audit trail keeps (``history_change_reason``, 100 characters).
REASON_MAX_LENGTH = 100

#: Unicode categories refused in a reason: control, format (right-to-left overrides, zero-width
#: characters), surrogates, private use, line and paragraph separators.
_REFUSED = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}


def refused_characters(text: str, allowed: Collection[str] = ()) -> list[str]:
    """The code points (``U+0009`` ...) of ``text`` in a refused Unicode category, except the
    ``allowed`` characters, sorted and each once."""
    return sorted(
        {
            f"U+{ord(c):04X}"
            for c in text
            if unicodedata.category(c) in _REFUSED and c not in allowed
        }
    )


def check_reason(reason: object) -> str:
    """The reason for change, stripped; :class:`FieldErrors` on ``reason`` when it is missing or
    blank (``required``), longer than the audit trail keeps (``max_length``) or contains control
    or format characters (``control_characters``)."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise FieldErrors.one(
            "reason",
            "give a reason for the change (kept in the audit trail), e.g. "
            "'transcription error corrected against the source document'",
            "required",
        )
    bad = refused_characters(text)
    if bad:
        raise FieldErrors.one(
            "reason",
            f"the reason contains control or formatting characters ({', '.join(bad)}): "
            "write it as plain text on one line",
            "control_characters",
            {"characters": bad},
        )
    if len(text) > REASON_MAX_LENGTH:
        raise FieldErrors.one(
            "reason",
            f"the reason has {len(text)} characters: at most {REASON_MAX_LENGTH} are kept",
            "max_length",
            {"limit_value": REASON_MAX_LENGTH, "show_value": len(text)},
        )
    return text


def is_update(instance: models.Model) -> bool:
    """A change of a saved, versioned row (not the creation of a new one)."""
    return (
        isinstance(instance, Versioned) and not instance._state.adding and instance.pk is not None
    )


def label(instance: models.Model) -> str:
    """How messages name a record: ``adverse event fever (grade 1, 2024-05-02)``."""
    if isinstance(instance, Patient):
        return f"patient {instance.study_id}"
    return f"{instance._meta.verbose_name} {instance}"


def claim(instance: Versioned, expected: int | None) -> None:
    """Claim the version the change is based on: ``UPDATE ... SET version = n + 1 WHERE pk = ...
    AND version = n`` inside the caller's transaction. The row stays locked until the commit, so
    a second writer based on version ``n`` finds no row to claim and gets :class:`StaleVersion`
    (with the record as now stored). ``expected`` defaults to the instance's own version."""
    model = type(instance)
    n = instance.version if expected is None else int(expected)
    claimed = model._base_manager.filter(pk=instance.pk, version=n).update(version=n + 1)
    if claimed != 1:
        current = model._base_manager.filter(pk=instance.pk).first()
        raise StaleVersion(
            n, None if current is None else current.version, current, label(instance)
        )
    instance.version = n  # Versioned.save adds one: the version just claimed


def blocking(instance: models.Model) -> list[str]:
    """Entered records that refer to ``instance``: a delete is refused while they exist."""
    if isinstance(instance, Patient):
        out = []
        for model in PATIENT_RECORDS:
            n = model.objects.filter(patient_id=instance.pk).count()
            if n:
                name = model._meta.verbose_name if n == 1 else model._meta.verbose_name_plural
                out.append(f"{n} {name}")
        if hasattr(instance, "allocation"):  # a randomised child stays in the trial's record
            out.append("its randomisation allocation (record a consent withdrawal instead)")
        return out
    if isinstance(instance, Administration):
        return [f"adverse event {ae}" for ae in instance.adverse_events.order_by("date", "id")]
    return []


def derived(instance: models.Model) -> list[models.Model]:
    """Audited records derived from ``instance`` that are deleted with it (see the module docs)."""
    if isinstance(instance, GMFM88Assessment) and instance.pk:
        return list(GMFM66Assessment.objects.filter(sheet=instance))
    return []


def derived_note(instance: models.Model) -> list[str]:
    """What else goes when ``instance`` is deleted, in words (for the confirmation page)."""
    out = [f"the {label(d)} computed from it" for d in derived(instance)]
    if isinstance(instance, Administration) and instance.pk and instance.visits.exists():
        out.append("the follow-up visits planned from it (the schedule is rebuilt)")
    return out


def delete_with_dependants(instance: models.Model, reason: str) -> None:
    """Refuse (:class:`HasDependants`) or delete the derived records, then ``instance``; every
    row deleted carries the reason in the audit trail."""
    refused = blocking(instance)
    if refused:
        raise HasDependants(label(instance), refused)
    for d in derived(instance):
        note = f"{reason} (deleted with {label(instance)})"
        if len(note) > REASON_MAX_LENGTH:
            note = note[: REASON_MAX_LENGTH - 1] + "…"
        d._change_reason = note
        d.delete()
    instance._change_reason = reason
    instance.delete()


__all__ = [
    "REASON_MAX_LENGTH",
    "blocking",
    "check_reason",
    "claim",
    "delete_with_dependants",
    "derived",
    "derived_note",
    "is_update",
    "label",
]

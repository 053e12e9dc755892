"""The audit trail of one patient: every create/update/delete of the patient and its records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cpstem.registry.models import PATIENT_RECORDS, Patient, Query, Verification

#: Monitoring of the patient's data, in the same trail: query states, source data verification.
MONITORING = (Query, Verification)

_KIND = {"+": "created", "~": "changed", "-": "deleted"}
_HIDDEN = {"updated_at", "created_at", "items", "version"}


@dataclass(frozen=True)
class Change:
    """One historical record: who, when, what."""

    when: datetime
    user: str
    kind: str
    record: str
    record_id: int
    summary: str
    changes: tuple[tuple[str, str, str], ...]  # (field, old, new)
    reason: str

    def to_dict(self) -> dict:
        return {
            "when": self.when.isoformat(),
            "user": self.user,
            "action": self.kind,
            "record": self.record,
            "record_id": self.record_id,
            "summary": self.summary,
            "changes": [{"field": f, "old": o, "new": n} for f, o, n in self.changes],
            "reason": self.reason,
        }


def _text(value) -> str:
    return "" if value is None else str(value)


def _item_changes(old: dict | None, new: dict | None) -> tuple[tuple[str, str, str], ...]:
    """The GMFM-88 items that changed, item by item (``NT`` = not tested)."""
    old, new = old or {}, new or {}

    def score(items: dict, key: str) -> str:
        value = items.get(key)
        return "NT" if value is None else str(value)

    keys = sorted({*old, *new}, key=lambda k: (len(str(k)), str(k)))
    return tuple(
        (f"item {k}", score(old, k), score(new, k)) for k in keys if score(old, k) != score(new, k)
    )


def _entries(model, records) -> list[Change]:
    out = []
    records = list(records)
    by_id: dict[int, list] = {}
    for r in sorted(records, key=lambda r: (r.history_date, r.history_id)):
        by_id.setdefault(r.id, []).append(r)
    for rows in by_id.values():
        prev = None
        for r in rows:
            changes: tuple = ()
            if prev is not None and r.history_type == "~":
                delta = r.diff_against(prev)
                changes = tuple(
                    (c.field, _text(c.old), _text(c.new))
                    for c in delta.changes
                    if c.field not in _HIDDEN
                )
                if "items" in delta.changed_fields:
                    changes += _item_changes(prev.items, r.items)
            out.append(
                Change(
                    when=r.history_date,
                    user=r.history_user.get_username() if r.history_user_id else "system",
                    kind=_KIND.get(r.history_type, r.history_type),
                    record=model._meta.verbose_name,
                    record_id=r.id,
                    summary=str(r.instance),
                    changes=changes,
                    reason=r.history_change_reason or "",
                )
            )
            prev = r
    return out


def _monitoring(patient: Patient) -> list[Change]:
    """Locks (of the patient and of its site) and electronic signatures as history entries."""
    from cpstem.registry.models import Signature
    from cpstem.registry.services.locking import locks_of

    out = []
    for lk in locks_of(patient):
        what = f"patient {patient.study_id}" if lk.patient_id else f"site {lk.site.code}"
        user = lk.locked_by.get_username() if lk.locked_by_id else "system"
        out.append(Change(lk.locked_at, user, "locked", "lock", lk.pk, what, (), lk.reason))
        if lk.unlocked_at is not None:
            who = lk.unlocked_by.get_username() if lk.unlocked_by_id else "system"
            out.append(
                Change(lk.unlocked_at, who, "unlocked", "lock", lk.pk, what, (), lk.unlock_reason)
            )
    for s in Signature.objects.filter(patient=patient):
        summary = f"{s.signer_name}: {s.meaning} (SHA-256 {s.content_hash[:16]}…)"
        out.append(
            Change(s.signed_at, s.signer_username, "signed", "signature", s.pk, summary, (), "")
        )
        if s.superseded_at is not None:
            out.append(
                Change(
                    s.superseded_at,
                    "system",
                    "superseded",
                    "signature",
                    s.pk,
                    f"signature of {s.signer_name} of {s.signed_at:%Y-%m-%d %H:%M}",
                    (),
                    s.superseded_reason,
                )
            )
    return out


def patient_history(patient: Patient) -> list[Change]:
    """Newest first; with the locks and electronic signatures of the patient."""
    entries = _entries(
        Patient, Patient.history.filter(id=patient.pk).select_related("history_user")
    )
    for model in (*PATIENT_RECORDS, *MONITORING):
        entries += _entries(
            model, model.history.filter(patient_id=patient.pk).select_related("history_user")
        )
    entries += _monitoring(patient)
    return sorted(entries, key=lambda c: c.when, reverse=True)

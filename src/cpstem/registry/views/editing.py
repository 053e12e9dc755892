"""Editing a saved record on a web form: the reason for change, the version the form was
opened with (optimistic locking) and, when someone else saved first, the conflict page that
shows their change field by field beside what the user typed (nothing typed is lost)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.http import QueryDict

from cpstem.registry.errors import FieldErrors, StaleVersion
from cpstem.registry.services import changes

#: Fields never compared on the conflict page (keys, bookkeeping, computed scores).
_SKIP = {"id", "patient", "site", "created_at", "updated_at", "version", "research_id"}


class ReasonField(forms.CharField):
    """The reason for change: required, one line of plain text, checked by the write path's
    rule (:func:`cpstem.registry.services.changes.check_reason`, same codes as the API)."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("label", "Reason for change")
        kwargs.setdefault(
            "help_text",
            "Required (GCP): why the data are changed, e.g. 'transcription error corrected "
            "against the source document'. Kept in the audit trail.",
        )
        kwargs.setdefault("max_length", changes.REASON_MAX_LENGTH)
        kwargs.setdefault("strip", False)  # the rule reports blank and control characters
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("autocomplete", "off")

    def validate(self, value: Any) -> None:
        try:
            changes.check_reason(value)
        except FieldErrors as exc:
            e = exc.details["reason"][0]
            raise ValidationError(e.message, code=e.code) from None


def prepare(form: forms.BaseForm, instance: models.Model) -> None:
    """Add the hidden ``version`` and the required ``reason`` to the form of a saved record
    (a new record needs neither)."""
    if not changes.is_update(instance):
        return
    form.fields["version"] = forms.IntegerField(
        widget=forms.HiddenInput, required=False, initial=instance.version, min_value=1
    )
    form.fields["reason"] = ReasonField()


def prepare_delete(form: forms.BaseForm, instance: models.Model) -> None:
    """The delete form: the version seen and the reason."""
    prepare(form, instance)
    form.fields["reason"].label = "Reason for deletion"


def save_args(form: forms.BaseForm) -> dict[str, Any]:
    """``reason`` and ``expected_version`` for :func:`cpstem.registry.services.write.save`
    (a form posted without a version is checked against the version it was loaded with)."""
    data = getattr(form, "cleaned_data", {})
    return {"reason": data.get("reason"), "expected_version": data.get("version")}


@dataclass(frozen=True)
class Conflict:
    """Someone else's change that made the user's form stale (for the template)."""

    message: str
    who: str
    when: datetime | None
    why: str
    rows: list[dict[str, str]]  # field, base (when opened), theirs (saved now), yours (typed)
    deleted: bool


def _show(f: models.Field | None, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if f is not None and f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return (
            "; ".join(
                ", ".join(f"{v}" for v in row.values() if v not in (None, ""))
                if isinstance(row, dict)
                else str(row)
                for row in value
            )
            or "—"
        )
    return str(value)


def _value(obj: Any, f: models.Field) -> Any:
    if obj is None:
        return None
    if f.is_relation:
        return getattr(obj, f.attname, None)
    return getattr(obj, f.name, None)


def _rows(model: type[models.Model], base: Any, theirs: Any, yours: Any) -> list[dict[str, str]]:
    rows = []
    for f in model._meta.concrete_fields:
        if f.name in _SKIP or not f.editable:
            continue
        b, t, y = _value(base, f), _value(theirs, f), _value(yours, f)
        if isinstance(t, dict) or isinstance(y, dict):  # a GMFM-88 sheet: item by item
            b, t, y = b or {}, t or {}, y or {}
            for key in sorted({*b, *t, *y}, key=lambda k: (len(str(k)), str(k))):
                if (base is not None and b.get(key) != t.get(key)) or t.get(key) != y.get(key):
                    rows.append(
                        {
                            "field": f"item {key}",
                            "base": "—" if base is None else _show(None, _nt(b.get(key))),
                            "theirs": _show(None, _nt(t.get(key))),
                            "yours": _show(None, _nt(y.get(key))),
                            "differs": t.get(key) != y.get(key),
                        }
                    )
            continue
        changed = (b != t) if base is not None else (t != y)
        if changed:
            if f.is_relation:
                shown = [
                    str(getattr(o, f.name, None) or "—") if o is not None else "—"
                    for o in (base, theirs, yours)
                ]
            else:
                shown = [_show(f, v) for v in (b, t, y)]
            rows.append(
                {
                    "field": str(f.verbose_name),
                    "base": "—" if base is None else shown[0],
                    "theirs": shown[1],
                    "yours": shown[2],
                    "differs": t != y,
                }
            )
    return rows


def _nt(score: Any) -> Any:
    return "NT" if score is None else score


def conflict(form: forms.BaseForm, exc: StaleVersion, yours: models.Model) -> Conflict:
    """Describe the other person's change and make the form ready for a deliberate second save:
    the hidden version becomes the current one, everything typed stays; a non-field error with
    the code ``stale_version`` (``deleted``) says what happened."""
    model = type(yours)
    current = exc.record
    who, when, why = "someone else", None, ""
    if hasattr(model, "history"):
        last = (
            model.history.filter(id=yours.pk)
            .select_related("history_user")
            .order_by("-history_date", "-history_id")
            .first()
        )
        if last is not None:
            who = last.history_user.get_username() if last.history_user_id else "system"
            when, why = last.history_date, last.history_change_reason or ""
    base = None
    if hasattr(model, "history") and current is not None:
        row = (
            model.history.filter(id=yours.pk, version=exc.expected)
            .exclude(history_type="-")
            .order_by("-history_date", "-history_id")
            .first()
        )
        base = None if row is None else row.instance
    if current is None:
        message = (
            f"{changes.label(yours)} was deleted by {who} while you were editing it"
            + (f" (reason: {why})" if why else "")
            + ". Nothing was saved; what you typed is still below."
        )
        rows: list[dict[str, str]] = []
    else:
        stamp = f" at {when:%Y-%m-%d %H:%M} UTC" if when else ""
        message = (
            f"Not saved: {who} changed this record{stamp}"
            + (f" (reason: {why})" if why else "")
            + " while you were editing it. Your entries are kept below and their change is "
            "listed field by field. Save again to replace their values with yours, or Cancel "
            "to keep theirs."
        )
        rows = _rows(model, base, current, yours)
        data = form.data.copy() if isinstance(form.data, QueryDict) else dict(form.data)
        data["version"] = str(current.version)
        form.data = data
    form.add_error(None, ValidationError(message, code=exc.code))
    return Conflict(message, who, when, why, rows, current is None)

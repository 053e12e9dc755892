"""What the entry forms add to the write path's checks: the raw typed text, and confirmations.

* :class:`TypedInputMixin` refuses digits of other scripts and invisible characters in every
  coded and numeric field *before* Django reads the value (Django's ``IntegerField`` and
  ``FloatField`` would read ``"٣"`` as 3), with the codes of :mod:`cpstem.registry.typed_input`.
* :class:`ConfirmationMixin`: a warning that the person entering can override (a dose outside
  its product's published range, a second assessment of the same day, a probable/definite
  relatedness before any administration) is a coded error of the write path; the form then
  shows the record's confirmation checkbox next to it, keeping everything typed. The checkbox
  is hidden until then (or while it is ticked, or the record was saved confirmed).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from cpstem.registry.typed_input import refusal

#: error code -> the model field that confirms it
CONFIRMATIONS: dict[str, str] = {
    "dose_needs_confirmation": "dose_confirmed",
    "duplicate_assessment": "duplicate_confirmed",
    "related_before_administration": "relatedness_confirmed",
}


class TypedInputMixin:
    """Refuse a digit of another script or an invisible character in a coded or numeric field
    (checked on the raw posted text, before the field reads it)."""

    def _clean_fields(self) -> None:
        refused: dict[str, ValidationError] = {}
        for name, bf in self._bound_items():  # type: ignore[attr-defined]
            if bf.field.disabled:
                continue
            found = refusal(name, bf.data)
            if found is not None:
                refused[name] = ValidationError(found[1], code=found[0])
        super()._clean_fields()  # type: ignore[misc]
        for name, error in refused.items():
            self._errors.pop(name, None)  # type: ignore[attr-defined]
            self.add_error(name, error)  # type: ignore[attr-defined]


class ConfirmationMixin:
    """Confirmation checkboxes shown only with the warning they confirm."""

    fields: dict[str, forms.Field]

    def hide_confirmations(self) -> None:
        """Hide each confirmation field unless it is ticked or was saved ticked."""
        instance = getattr(self, "instance", None)
        for name in CONFIRMATIONS.values():
            field = self.fields.get(name)
            if field is None:
                continue
            saved = bool(instance is not None and instance.pk and getattr(instance, name, False))
            if not (saved or self._ticked(name)):
                field.widget = forms.HiddenInput()

    def _ticked(self, name: str) -> bool:
        if not getattr(self, "is_bound", False):
            return False
        value: Any = self.data.get(self.add_prefix(name))  # type: ignore[attr-defined]
        return str(value).lower() not in ("", "none", "false", "0", "off")

    def show_confirmation(self, code: str) -> None:
        """Show the checkbox that confirms the warning ``code`` (if this form has one)."""
        field = self.fields.get(CONFIRMATIONS.get(code, ""))
        if field is not None and field.widget.is_hidden:
            field.widget = forms.CheckboxInput()

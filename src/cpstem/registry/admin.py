"""Django admin for staff (administrators): every model, with its history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from cpstem.registry import models as m
from cpstem.registry.errors import Locked
from cpstem.registry.forms import RecordForm
from cpstem.registry.services import locking, signatures


class LockGuard(SimpleHistoryAdmin):
    """The Django admin honours locks as the write path does: a locked patient's data is read
    only here, a save or delete of it is refused (403), and a change supersedes the patient's
    electronic signatures."""

    def _locked(self, obj: models.Model | None) -> bool:
        if obj is None:
            return False
        try:
            locking.refuse_if_locked(obj)
        except Locked:
            return True
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and not self._locked(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._locked(obj)

    def _guarded(self, obj: models.Model, action: Any, what: str) -> None:
        with transaction.atomic():
            try:
                locking.refuse_if_locked(obj)
            except Locked as exc:
                raise PermissionDenied(exc.message) from None
            pid = obj.pk if isinstance(obj, m.Patient) else getattr(obj, "patient_id", None)
            action()
            signatures.supersede(pid, f"{what} in the Django admin")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self._guarded(
            obj, lambda: super(LockGuard, self).save_model(request, obj, form, change), "saved"
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._guarded(obj, lambda: super(LockGuard, self).delete_model(request, obj), "deleted")


@admin.register(m.Site)
class SiteAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name")


@admin.register(m.Profile)
class ProfileAdmin(SimpleHistoryAdmin):
    list_display = ("user", "role", "site", "must_change_password")
    list_filter = ("role", "site")


@admin.register(m.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at")


@admin.register(m.Patient)
class PatientAdmin(LockGuard):
    list_display = ("study_id", "site", "birth_date", "sex", "gmfcs", "is_synthetic")
    list_filter = ("site", "gmfcs", "is_synthetic")
    search_fields = ("study_id", "research_id")


class RecordAdmin(LockGuard):
    # validated like every other entry path (errors of fields the admin form lacks, such as a
    # GMFM item, are shown above the form)
    form = RecordForm
    list_display = ("patient", "date", "__str__")
    list_select_related = ("patient",)
    search_fields = ("patient__study_id",)
    date_hierarchy = "date"


for model in m.PATIENT_RECORDS:
    admin.site.register(model, RecordAdmin)

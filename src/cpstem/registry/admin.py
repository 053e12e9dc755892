"""Django admin for staff (administrators): every model, with its history."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from cpstem.registry import models as m
from cpstem.registry.forms import RecordForm


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
class PatientAdmin(SimpleHistoryAdmin):
    list_display = ("study_id", "site", "birth_date", "sex", "gmfcs", "is_synthetic")
    list_filter = ("site", "gmfcs", "is_synthetic")
    search_fields = ("study_id", "research_id")


class RecordAdmin(SimpleHistoryAdmin):
    # validated like every other entry path (errors of fields the admin form lacks, such as a
    # GMFM item, are shown above the form)
    form = RecordForm
    list_display = ("patient", "date", "__str__")
    list_select_related = ("patient",)
    search_fields = ("patient__study_id",)
    date_hierarchy = "date"


for model in m.PATIENT_RECORDS:
    admin.site.register(model, RecordAdmin)

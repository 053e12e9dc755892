"""URLs: the pages, the REST API under /api/v1/, the Django admin, login/logout."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from cpstem.registry.api import api
from cpstem.registry.views import auth, dashboard, patients, printouts, records

app_patterns = (
    [
        path("", patients.patient_list, name="patients"),
        path("new/", patients.patient_edit, name="patient_new"),
        path("<int:pk>/", patients.patient_detail, name="patient"),
        path("<int:pk>/edit/", patients.patient_edit, name="patient_edit"),
        path("<int:pk>/history/", patients.patient_history, name="history"),
        path("<int:pk>/trajectory.svg", patients.trajectory_chart, name="trajectory_chart"),
        path("<int:pk>/summary.pdf", printouts.patient_summary_pdf, name="patient_pdf"),
        path("<int:pk>/gmfm88/<int:rid>/", records.gmfm88_detail, name="gmfm88"),
        path("<int:pk>/gmfm88/<int:rid>/sheet.pdf", printouts.gmfm88_sheet_pdf, name="gmfm88_pdf"),
        path("gmfm88/sheet.pdf", printouts.gmfm88_sheet_pdf, name="gmfm88_blank_pdf"),
        path("<int:pk>/<slug:kind>/new/", records.record_edit, name="record_new"),
        path("<int:pk>/<slug:kind>/<int:rid>/edit/", records.record_edit, name="record_edit"),
        path("<int:pk>/<slug:kind>/<int:rid>/delete/", records.record_delete, name="record_delete"),
    ],
    "registry",
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="registry:patients", permanent=False)),
    path("patients/", include(app_patterns)),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("export.csv", dashboard.export_csv, name="export_csv"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth.PasswordChange.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="registration/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

"""URLs: the pages, the REST API under /api/v1/, the Django admin, login/logout."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from cpstem.registry.api import api
from cpstem.registry.views import (
    accounts,
    auth,
    dashboard,
    deletion,
    details,
    errors,
    locking,
    monitoring,
    patients,
    printouts,
    randomisation,
    records,
    worklist,
)

app_patterns = (
    [
        path("", patients.patient_list, name="patients"),
        path("new/", patients.patient_edit, name="patient_new"),
        path("<int:pk>/", patients.patient_detail, name="patient"),
        path("<int:pk>/edit/", patients.patient_edit, name="patient_edit"),
        path("<int:pk>/delete/", deletion.patient_delete, name="patient_delete"),
        path("<int:pk>/history/", patients.patient_history, name="history"),
        path("<int:pk>/lock/", locking.patient_lock, name="patient_lock"),
        path(
            "<int:pk>/unlock/",
            locking.patient_lock,
            {"action": "unlock"},
            name="patient_unlock",
        ),
        path("<int:pk>/sign/", locking.patient_sign, name="patient_sign"),
        path("<int:pk>/trajectory.svg", patients.trajectory_chart, name="trajectory_chart"),
        path("<int:pk>/summary.pdf", printouts.patient_summary_pdf, name="patient_pdf"),
        path("<int:pk>/randomise/", randomisation.randomise_page, name="randomise"),
        path("<int:pk>/allocation/", randomisation.allocation_page, name="allocation"),
        path("<int:pk>/unblind/", randomisation.unblind_page, name="unblind"),
        path("<int:pk>/gmfm88/<int:rid>/", records.gmfm88_detail, name="gmfm88"),
        path("<int:pk>/gmfm88/<int:rid>/sheet.pdf", printouts.gmfm88_sheet_pdf, name="gmfm88_pdf"),
        path("gmfm88/sheet.pdf", printouts.gmfm88_sheet_pdf, name="gmfm88_blank_pdf"),
        path("<int:pk>/<slug:kind>/new/", records.record_edit, name="record_new"),
        path("<int:pk>/<slug:kind>/<int:rid>/", details.record_detail, name="record"),
        path("<int:pk>/<slug:kind>/<int:rid>/edit/", records.record_edit, name="record_edit"),
        path("<int:pk>/<slug:kind>/<int:rid>/delete/", records.record_delete, name="record_delete"),
    ],
    "registry",
)

account_patterns = (
    [
        path("", accounts.user_list, name="users"),
        path("new/", accounts.user_new, name="user_new"),
        path("sites/new/", accounts.site_new, name="site_new"),
        path("<int:uid>/", accounts.user_detail, name="user"),
        path("<int:uid>/role/", accounts.user_role, name="user_role"),
        path("<int:uid>/active/", accounts.user_active, name="user_active"),
        path("<int:uid>/password/", accounts.user_password, name="user_password"),
    ],
    "accounts",
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="registry:patients", permanent=False)),
    path("patients/", include(app_patterns)),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/plot/<slug:name>.svg", dashboard.dashboard_plot, name="dashboard_plot"),
    path("dashboard.xlsx", dashboard.dashboard_xlsx, name="dashboard_xlsx"),
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
    path("users/", include(account_patterns)),
    path("worklist/", worklist.worklist_page, name="worklist"),
    path("locks/", locking.site_locks, name="site_locks"),
    path("quality/", locking.quality_page, name="quality"),
    path("randomisation/", randomisation.design_page, name="randomisation"),
    path("worklist/calendar/", worklist.calendar_link, name="calendar_link"),
    path("calendar/<str:key>.ics", worklist.calendar_feed, name="calendar_feed"),
    path("queries/", monitoring.query_list, name="queries"),
    path("queries/new/", monitoring.query_new, name="query_new"),
    path("queries/<int:qid>/", monitoring.query_detail, name="query"),
    path("queries/<int:qid>/<slug:action>/", monitoring.query_action, name="query_action"),
    path("sdv/", monitoring.sdv_progress, name="sdv"),
    path("sdv/verify/", monitoring.verify_record, name="verify"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

# Error pages in the registry's layout (the 500 page without database or user).
handler403 = errors.forbidden
handler404 = errors.not_found
handler500 = errors.server_error

"""App configuration: SQLite connections get WAL journaling and a busy timeout; the follow-up
schedule listens for changed records."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _sqlite_pragmas(sender, connection, **kwargs) -> None:
    """WAL, busy timeout, synchronous, foreign keys; files owner-only (see .sqlite_files)."""
    if connection.vendor == "sqlite":
        from cpstem.registry import sqlite_files

        with connection.cursor() as cur:
            for pragma in sqlite_files.pragmas():
                cur.execute(pragma)
        sqlite_files.owner_only(connection.settings_dict["NAME"])


class RegistryConfig(AppConfig):
    name = "cpstem.registry"
    label = "registry"
    verbose_name = "cpstem registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        connection_created.connect(_sqlite_pragmas, dispatch_uid="cpstem-sqlite-pragmas")
        # The models announce that derived data is stale; the services rebuild it (the models
        # do not import the services).
        from cpstem.registry.models.base import derived_stale
        from cpstem.registry.services.schedule import on_derived_stale

        derived_stale.connect(on_derived_stale, dispatch_uid="cpstem-schedule-refresh")
        _connect_account_signals()


def _connect_account_signals() -> None:
    """A changed password or a deactivation revokes API tokens (``users.on_user_pre_save``);
    recording the log-in time is not an account change for the audit trail."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import update_last_login
    from django.contrib.auth.signals import user_logged_in
    from django.db.models.signals import pre_save

    from cpstem.registry.users import on_user_pre_save

    pre_save.connect(on_user_pre_save, sender=get_user_model(), dispatch_uid="cpstem-revoke")

    def last_login_unaudited(sender, user, **kwargs) -> None:
        user.skip_history_when_saving = True
        try:
            update_last_login(sender, user, **kwargs)
        finally:
            del user.skip_history_when_saving

    if user_logged_in.disconnect(dispatch_uid="update_last_login"):
        user_logged_in.connect(last_login_unaudited, dispatch_uid="update_last_login", weak=False)

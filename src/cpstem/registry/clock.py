"""The registry's clock: today's date in the configured time zone.

One place to read it, so that models, services, views and the import agree on "today" (and
tests can move it with one patch). Nothing here imports the models.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone


def today() -> date:
    """Today's date in ``settings.TIME_ZONE``."""
    return timezone.localdate()

"""Rebuild a patient's follow-up visits from administrations and assessment dates."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.db import transaction

from cpstem.outcomes import schedule
from cpstem.registry.models.base import today


@cache
def rules() -> tuple[schedule.VisitRule, ...]:
    """The schedule in force: ``CPSTEM_SCHEDULE`` (a site's TOML) or the default."""
    return schedule.load_rules(settings.CPSTEM["SCHEDULE"])


def assessment_dates(patient) -> set:
    days = set(patient.gmfm88assessment_set.values_list("date", flat=True))
    days |= set(patient.gmfm66assessment_set.values_list("date", flat=True))
    days |= set(patient.spasticityassessment_set.values_list("date", flat=True))
    return days


def plan_for(patient, days=None, admins=None) -> list[schedule.Visit]:
    if admins is None:
        admins = list(patient.administration_set.values_list("id", "date"))
    if days is None:
        days = assessment_dates(patient)
    return schedule.plan(admins, days, today(), rules())


def visit_rows(patient, visits) -> list:
    from cpstem.registry.models import FollowUpVisit

    return [
        FollowUpVisit(
            patient_id=patient.pk,
            administration_id=v.anchor,
            label=v.label,
            months=v.rule.months,
            target_date=v.target,
            window_start=v.window_start,
            window_end=v.window_end,
            done_on=v.done_on,
        )
        for v in visits
    ]


def refresh_schedule(patient) -> None:
    from cpstem.registry.models import FollowUpVisit

    with transaction.atomic():
        FollowUpVisit.objects.filter(patient_id=patient.pk).delete()
        FollowUpVisit.objects.bulk_create(visit_rows(patient, plan_for(patient)))

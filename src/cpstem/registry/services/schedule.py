"""Rebuild a patient's follow-up visits from administrations and assessment dates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from cpstem.outcomes import schedule
from cpstem.registry.clock import today
from cpstem.registry.models import (
    Administration,
    FollowUpVisit,
    GMFM66Assessment,
    GMFM88Assessment,
    Patient,
    SpasticityAssessment,
)
from cpstem.registry.models.patients import EnrolmentGroup


@cache
def rules() -> tuple[schedule.VisitRule, ...]:
    """The schedule in force: ``CPSTEM_SCHEDULE`` (a site's TOML) or the default."""
    return schedule.load_rules(settings.CPSTEM["SCHEDULE"])


def assessment_dates(patient: Patient) -> set[date]:
    days = set(patient.gmfm88assessment_set.values_list("date", flat=True))
    days |= set(patient.gmfm66assessment_set.values_list("date", flat=True))
    days |= set(patient.spasticityassessment_set.values_list("date", flat=True))
    return days


def plan_for(
    patient: Patient,
    days: Iterable[date] | None = None,
    admins: Iterable[tuple[int, date]] | None = None,
) -> list[schedule.Visit]:
    if admins is None:
        admins = patient.follow_up_anchors()
    if days is None:
        days = assessment_dates(patient)
    return schedule.plan(admins, days, today(), rules())


def visit_rows(patient: Patient, visits: Iterable[schedule.Visit]) -> list[FollowUpVisit]:
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


def refresh_schedule(patient: Patient) -> None:
    with transaction.atomic():
        FollowUpVisit.objects.filter(patient_id=patient.pk).delete()
        FollowUpVisit.objects.bulk_create(visit_rows(patient, plan_for(patient)))


def refresh_many(patient_ids: Iterable[int]) -> int:
    """Rebuild the follow-up visits of many patients with a few queries (bulk paths)."""
    ids = list(patient_ids)
    admins: dict[int, list] = defaultdict(list)
    days: dict[int, set] = defaultdict(set)
    created = 0
    with transaction.atomic():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            # a control, and a randomised child in either arm: from enrolment (randomisation)
            controls = dict(
                Patient.objects.filter(
                    Q(group=EnrolmentGroup.CONTROL)
                    | Q(allocation__isnull=False, enrolment_date__isnull=False),
                    pk__in=chunk,
                ).values_list("pk", "enrolment_date")
            )
            for pid, enrolled in controls.items():
                if enrolled is not None:
                    admins[pid].append((None, enrolled))
            for pid, aid, day in Administration.objects.filter(patient_id__in=chunk).values_list(
                "patient_id", "id", "date"
            ):
                if pid not in controls:
                    admins[pid].append((aid, day))
            for model in (GMFM88Assessment, GMFM66Assessment, SpasticityAssessment):
                for pid, day in model.objects.filter(patient_id__in=chunk).values_list(
                    "patient_id", "date"
                ):
                    days[pid].add(day)
            FollowUpVisit.objects.filter(patient_id__in=chunk).delete()
            rows = []
            for pid in chunk:
                if admins[pid]:
                    visits = schedule.plan(admins[pid], days[pid], today(), rules())
                    rows += visit_rows(Patient(pk=pid), visits)
            FollowUpVisit.objects.bulk_create(rows, batch_size=2000)
            created += len(rows)
    return created


def on_derived_stale(sender: object, patient: Patient, **kwargs: Any) -> None:
    """Receiver of :data:`cpstem.registry.models.base.derived_stale` (see ``apps.py``)."""
    refresh_schedule(patient)

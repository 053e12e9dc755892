"""Template helpers: dates shown as ages for the pseudonymised research view."""

from __future__ import annotations

from django import template

from cpstem.outcomes.dates import age_months

register = template.Library()


@register.simple_tag(takes_context=True)
def when(context, day, patient=None) -> str:
    """An ISO date, or 'age N mo' for researchers (no calendar dates in research views)."""
    if day is None or day == "":
        return ""
    if context.get("pseudonymised"):
        patient = patient or context.get("patient")
        if patient is not None:
            return f"age {age_months(patient.birth_date, day)} mo"
        return "-"
    return day.isoformat()


@register.simple_tag(takes_context=True)
def patient_label(context, patient) -> str:
    """Study ID, or the research ID for researchers."""
    return patient.research_id if context.get("pseudonymised") else patient.study_id


@register.filter
def sci(value) -> str:
    """A cell count as 5.0 x 10^7."""
    from cpstem.outcomes.dose import sci as fmt

    try:
        return fmt(float(value))
    except (TypeError, ValueError):
        return ""

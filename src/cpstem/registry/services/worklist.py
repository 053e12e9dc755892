"""The work-list: follow-up visits due in the next N days and overdue, per site; e-mail reminders
to the site's clinicians and an iCalendar (RFC 5545) feed.

A visit is on the work-list when it is not done, its window has not closed (a visit whose window
closed is *missed*, see :mod:`cpstem.outcomes.schedule`) and its target date is at most ``days``
days ahead. Children whose consent is withdrawn are left out. Children are named by their study
ID only (no names exist in the registry; no birth dates are sent or shown).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import QuerySet

from cpstem.outcomes.schedule import Status
from cpstem.registry.errors import RegistryError
from cpstem.registry.models import FollowUpVisit, Role, Site

#: Largest look-ahead (days) of the work-list, the reminders and the calendar feed.
MAX_DAYS = 366
#: The work-list's default look-ahead (days).
DEFAULT_DAYS = 14


def check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
        raise RegistryError(
            f"days must be a whole number from 0 to {MAX_DAYS}, not {days!r}",
            code="out_of_range",
            field="days",
            params={"days": str(days), "max": MAX_DAYS},
        )
    return days


def open_visits(site_ids: Sequence[int] | None, on: date, days: int) -> QuerySet[FollowUpVisit]:
    """Visits not done, window still open, target at most ``days`` ahead of ``on``, of the sites
    ``site_ids`` (None: all sites), overdue first, then by target date."""
    qs = FollowUpVisit.objects.filter(
        done_on__isnull=True,
        window_end__gte=on,
        target_date__lte=on + timedelta(days=check_days(days)),
        patient__consent_withdrawn_date__isnull=True,
    ).select_related("patient__site", "administration")
    if site_ids is not None:
        qs = qs.filter(patient__site_id__in=list(site_ids))
    return qs.order_by("target_date", "patient__site__code", "patient__study_id", "months")


@dataclass(frozen=True)
class Item:
    """One visit of the work-list as clinicians of its site see it."""

    patient_pk: int
    study_id: str
    site: str
    visit: str
    months: int
    administration_id: int
    administration_date: date
    target_date: date
    window_start: date
    window_end: date
    status: str
    days_from_today: int

    @classmethod
    def of(cls, v: FollowUpVisit, on: date) -> Item:
        return cls(
            v.patient_id,
            v.patient.study_id,
            v.patient.site.code,
            v.label,
            v.months,
            v.administration_id,
            v.administration.date,
            v.target_date,
            v.window_start,
            v.window_end,
            str(v.status_on(on)),
            (v.target_date - on).days,
        )

    @property
    def label(self) -> str:
        """How pages name the child (the work-list is closed to the pseudonymised view)."""
        return self.study_id

    @property
    def overdue(self) -> bool:
        return self.status == Status.OVERDUE

    @property
    def days_late(self) -> int:
        return max(0, -self.days_from_today)

    def to_dict(self) -> dict:
        return {
            "patient_id": self.patient_pk,
            "study_id": self.study_id,
            "site": self.site,
            "visit": self.visit,
            "months": self.months,
            "administration_date": self.administration_date,
            "date": self.target_date,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "status": self.status,
            "days_from_today": self.days_from_today,
        }

    def line(self) -> str:
        when = (
            f"overdue by {-self.days_from_today} d"
            if self.days_from_today < 0
            else ("today" if self.days_from_today == 0 else f"in {self.days_from_today} d")
        )
        return (
            f"{self.study_id}  {self.visit} (cells {self.administration_date})  "
            f"target {self.target_date} ({when}), window {self.window_start} to {self.window_end}"
        )


def items(site_ids: Sequence[int] | None, on: date, days: int) -> list[Item]:
    return [Item.of(v, on) for v in open_visits(site_ids, on, days)]


def by_site(rows: Iterable[Item]) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = defaultdict(list)
    for r in rows:
        out[r.site].append(r)
    return dict(sorted(out.items()))


# --- e-mail reminders -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """The reminder of one site: its recipients and the message text."""

    site: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    n_overdue: int
    n_due: int


def clinicians_of(site: Site) -> list[str]:
    """E-mail addresses of the site's active clinicians (accounts without one are skipped)."""
    return sorted(
        get_user_model()
        .objects.filter(
            is_active=True, profile__role=Role.CLINICIAN, profile__site=site, email__gt=""
        )
        .values_list("email", flat=True)
    )


def reminders(on: date, days: int) -> list[Reminder]:
    """One reminder per site with visits on its work-list (overdue or due within ``days``)."""
    grouped = by_site(items(None, on, days))
    out = []
    base = getattr(settings, "CPSTEM_BASE_URL", "").rstrip("/")
    for site in Site.objects.filter(code__in=list(grouped)).order_by("code"):
        rows = grouped[site.code]
        overdue = [r for r in rows if r.overdue]
        coming = [r for r in rows if not r.overdue]
        parts = [
            f"Follow-up visits of site {site.code} ({site.name}) on {on.isoformat()}: "
            f"{len(overdue)} overdue, {len(coming)} due in the next {days} days.",
            "",
        ]
        if overdue:
            parts += ["Overdue:", *(f"  {r.line()}" for r in overdue), ""]
        if coming:
            parts += [f"Due in the next {days} days:", *(f"  {r.line()}" for r in coming), ""]
        if base:
            parts += [f"Work-list: {base}/worklist/?days={days}&site={site.code}", ""]
        parts += [
            "Children are named by study ID only. You receive this message as a clinician of "
            f"site {site.code} in the cpstem registry; an administrator can change that.",
        ]
        subject = f"cpstem {site.code}: {len(overdue)} overdue, {len(coming)} due in {days} days"
        out.append(
            Reminder(
                site.code,
                tuple(clinicians_of(site)),
                subject,
                "\n".join(parts),
                len(overdue),
                len(coming),
            )
        )
    return out


def send_reminders(batch: Sequence[Reminder]) -> int:
    """Send the reminders (Django's e-mail framework, SMTP settings from the environment, see
    ``settings.py``); the number of messages sent. Sites without a clinician e-mail are
    skipped."""
    to_send = [r for r in batch if r.recipients]
    if not to_send:
        return 0
    if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend") and not settings.EMAIL_HOST:
        raise RegistryError(
            "no SMTP server: set CPSTEM_SMTP_HOST (and CPSTEM_SMTP_PORT, CPSTEM_SMTP_USER, "
            "CPSTEM_SMTP_PASSWORD, CPSTEM_SMTP_TLS, CPSTEM_MAIL_FROM as needed)",
            code="no_smtp",
        )
    with get_connection() as connection:
        messages = [
            EmailMessage(r.subject, r.body, to=list(r.recipients), connection=connection)
            for r in to_send
        ]
        return connection.send_messages(messages) or 0


# --- iCalendar feed (RFC 5545) ---------------------------------------------------------------


def _escape(text: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newline escaped."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    out, current, size = [], "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def ical(rows: Iterable[Item], name: str, stamp: datetime) -> str:
    """The visits as an iCalendar text: one all-day event per visit on its target date (the
    window in the description), UIDs stable across rebuilds of the schedule."""
    dtstamp = stamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//cpstem//registry work-list//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    for r in rows:
        uid = f"visit-{r.administration_id}-{r.months}m@cpstem"
        description = (
            f"Follow-up visit {r.visit} after the cells of {r.administration_date}. "
            f"Window {r.window_start} to {r.window_end}. Site {r.site}. Status {r.status}."
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{dtstamp}",
            f"DTSTART;VALUE=DATE:{r.target_date:%Y%m%d}",
            f"DTEND;VALUE=DATE:{r.target_date + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_escape(f'{r.study_id}: {r.visit} visit ({r.site})')}",
            f"DESCRIPTION:{_escape(description)}",
            f"CATEGORIES:{_escape(r.site)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)

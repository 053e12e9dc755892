"""The work-list page (visits due in the next N days and overdue, per site), the calendar-feed
link of the signed-in user and the feed itself (iCalendar, authenticated by the secret in its
URL because calendar apps cannot log in)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cpstem.registry import access, privacy, users
from cpstem.registry.clock import today
from cpstem.registry.errors import RegistryError
from cpstem.registry.models import Site
from cpstem.registry.services import worklist

#: Look-ahead of the calendar feed (days).
FEED_DAYS = 180


def allowed_sites(user, code: str | None) -> list[int] | None:
    """The site ids of the work-list: the user's sites, narrowed to ``code`` if given (an
    unknown code, or another site's, is a 404)."""
    proj = privacy.project(user)
    access.require_read(user)
    proj.require("worklist")
    visible = access.visible_site_ids(user)
    if not code:
        return visible
    site = Site.objects.filter(code=code.strip().upper()).first()
    if site is None or (visible is not None and site.pk not in visible):
        raise Http404("no such site")
    return [site.pk]


def parse_days(text: str | None) -> int:
    if text in (None, ""):
        return worklist.DEFAULT_DAYS
    try:
        days = int(text)
    except (TypeError, ValueError):
        raise RegistryError(
            f"days must be a whole number from 0 to {worklist.MAX_DAYS}",
            code="invalid",
            field="days",
        ) from None
    return worklist.check_days(days)


@login_required
@never_cache
def worklist_page(request: HttpRequest) -> HttpResponse:
    error = ""
    try:
        days = parse_days(request.GET.get("days"))
    except RegistryError as exc:
        days, error = worklist.DEFAULT_DAYS, exc.message
    code = request.GET.get("site", "")
    site_ids = allowed_sites(request.user, code)
    on = today()
    rows = worklist.items(site_ids, on, days)
    visible = access.visible_site_ids(request.user)
    sites = Site.objects.all() if visible is None else Site.objects.filter(pk__in=visible)
    return render(
        request,
        "registry/worklist.html",
        {
            "on": on,
            "days": days,
            "site": code.upper(),
            "sites": sites,
            "groups": worklist.by_site(rows),
            "n_overdue": sum(r.overdue for r in rows),
            "n_due": sum(not r.overdue for r in rows),
            "error": error,
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def calendar_link(request: HttpRequest) -> HttpResponse:
    """The user's calendar-feed address: a new secret on POST (shown once; the old one stops
    working)."""
    allowed_sites(request.user, None)
    url = ""
    if request.method == "POST":
        key = users.issue_calendar_key(request.user)
        url = request.build_absolute_uri(f"/calendar/{key}.ics")
    response = render(request, "registry/calendar_link.html", {"url": url, "feed_days": FEED_DAYS})
    response["Cache-Control"] = "no-store"
    return response


def calendar_feed(request: HttpRequest, key: str) -> HttpResponse:
    """The visits of the user's sites (overdue and the next :data:`FEED_DAYS` days) as an
    iCalendar file; an unknown or revoked secret is a 404."""
    user = users.calendar_user(key)
    if user is None:
        raise Http404("no such calendar")
    try:
        site_ids = allowed_sites(user, None)
    except PermissionDenied:
        raise Http404("no such calendar") from None
    on = today()
    rows = worklist.items(site_ids, on, FEED_DAYS)
    label = (
        "all sites"
        if site_ids is None
        else ", ".join(Site.objects.filter(pk__in=site_ids).values_list("code", flat=True))
    )
    text = worklist.ical(rows, f"cpstem follow-up visits ({label})", timezone.now())
    response = HttpResponse(text.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = 'inline; filename="cpstem-visits.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response

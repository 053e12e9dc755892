"""Roles and site separation. Views and the API filter querysets with these, never templates.

admin: all sites, read/write (and the Django admin); clinician: own site, read/write;
monitor: own site, read-only; researcher: all sites, pseudonymised, read-only; assessor (a
blinded assessor): own site, read-only, blind to the randomised allocation (see
:meth:`cpstem.registry.privacy.Projection.masks`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from cpstem.registry.models.sites import AnyUser, Role, Site, role_of, site_of, visible_site_ids

__all__ = [
    "can_answer_queries",
    "can_monitor",
    "can_write",
    "is_pseudonymised",
    "require_monitor",
    "require_read",
    "require_write",
    "role_context",
    "role_of",
    "sees_monitoring",
    "site_of",
    "visible_site_ids",
    "writable_site",
]


def can_write(user: AnyUser) -> bool:
    return role_of(user) in (Role.ADMIN, Role.CLINICIAN)


def is_pseudonymised(user: AnyUser) -> bool:
    """Researchers see research IDs and ages, never study IDs, birth dates or free text."""
    return role_of(user) == Role.RESEARCHER


def require_read(user: AnyUser) -> None:
    if role_of(user) is None:
        raise PermissionDenied("this account has no role in the registry")


def require_write(user: AnyUser) -> None:
    if not can_write(user):
        raise PermissionDenied("your role is read-only")


def writable_site(user: AnyUser, site: Site | None = None) -> Site:
    """The site a new patient goes to: the clinician's own; an admin may choose."""
    require_write(user)
    if role_of(user) == Role.ADMIN and site is not None:
        return site
    own = site_of(user)
    if own is None:
        raise PermissionDenied("choose a site (your account has none)")
    return own


def role_context(request: HttpRequest) -> dict[str, Any]:
    """Template context: the user's role, what it may do, and ``proj``, the role's privacy
    projection (:mod:`cpstem.registry.privacy`): templates show what the views project and take
    labels such as ``proj.id_label`` from it, never a role test of their own."""
    from cpstem.registry import privacy

    user = getattr(request, "user", None)
    role = role_of(user)
    return {
        "role": role,
        "can_write": role in (Role.ADMIN, Role.CLINICIAN),
        # the data-quality page (monitors, admins) and the locks page (admins)
        "may_check_quality": role in (Role.ADMIN, Role.MONITOR),
        "may_lock": role == Role.ADMIN,
        "proj": privacy.project(user),
        "user_site": site_of(user) if role else None,
    }


# --- monitoring (queries, source data verification) ---------------------------------------


def can_monitor(user: AnyUser) -> bool:
    """Open, close and re-open queries; mark records verified: monitors and administrators."""
    return role_of(user) in (Role.ADMIN, Role.MONITOR)


def require_monitor(user: AnyUser) -> None:
    if not can_monitor(user):
        raise PermissionDenied("only a monitor or an administrator may do this")


def can_answer_queries(user: AnyUser) -> bool:
    """Answer a query (and correct the record): the site's clinicians and administrators."""
    return can_write(user)


def sees_monitoring(user: AnyUser) -> bool:
    """Queries and verification status: every role of the sites' own staff, not researchers
    (the pseudonymised research view has no queries)."""
    return role_of(user) in (Role.ADMIN, Role.CLINICIAN, Role.MONITOR)

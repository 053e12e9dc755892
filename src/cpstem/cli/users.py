"""``cpstem user``, ``cpstem site`` and ``cpstem token``: accounts with a role and site, sites,
API tokens. Every change is kept in the audit trail with the ``--reason`` given."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from cpstem.cli.app import App
from cpstem.cli.console import console
from cpstem.cli.registry import DataDir, start
from cpstem.registry.errors import RegistryError

user_app = App(help="Registry accounts: roles admin, clinician, monitor, researcher.")
token_app = App(help="API tokens (Authorization: Bearer <token>).")
site_app = App(help="Sites (treating centres): clinicians and monitors see their site's patients.")

ROLE_HELP = (
    "admin | clinician (own site, read/write) | monitor (own site, read-only) | researcher"
    " | assessor (own site, read-only, blind to the randomised allocation)"
)
Reason = Annotated[
    str | None, typer.Option(help="Why (kept in the audit trail with who and when).")
]


@user_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    site: Annotated[
        str | None, typer.Option(help="Site code (an existing site; see `cpstem site list`).")
    ] = None,
    create_site: Annotated[
        bool, typer.Option("--create-site", help="Create the site if it does not exist yet.")
    ] = False,
    email: Annotated[
        str, typer.Option(help="E-mail address (clinicians: where visit reminders go).")
    ] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    one_time: Annotated[
        bool,
        typer.Option("--one-time-password", help="Generate a one-time password and print it."),
    ] = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if the user exists.")
    ] = False,
    reason: Reason = None,
    data_dir: DataDir = None,
) -> None:
    """Create a user. Give the password on stdin (--password-stdin) or get a one-time one."""
    start(data_dir)
    from django.contrib.auth import get_user_model

    from cpstem.registry import users

    if if_missing and get_user_model().objects.filter(username=name).exists():
        console.print(
            f"User {name} exists (reset its password with `cpstem user password {name}`)."
        )
        return
    if password_stdin == one_time:
        raise RegistryError("give exactly one of --password-stdin or --one-time-password")
    if site and not create_site:
        users.get_site(site)  # refuse an unknown site before reading a password
    if one_time:
        password = users.one_time_password()
    else:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise RegistryError("no password on standard input")
    users.create_user(
        name,
        role,
        site,
        password,
        one_time=one_time,
        check_password=not one_time,
        create_site=create_site,
        reason=users.cli_reason(reason),
        email=email,
    )
    console.print(f"Created {role} {name}" + (f" at site {site.upper()}" if site else ""))
    if one_time:
        console.print("One-time password (must be changed at the first log-in):")
        typer.echo(password)


@user_app.command("password")
def password(
    name: Annotated[str, typer.Argument(help="User name.")],
    reason: Reason = None,
    data_dir: DataDir = None,
) -> None:
    """Reset a password to a new one-time password (printed as the last line); the user's API
    tokens are revoked."""
    start(data_dir)
    from cpstem.registry import users

    new = users.reset_password(name, reason=users.cli_reason(reason or "password reset"))
    console.print(f"New one-time password of {name} (must be changed at the next log-in):")
    typer.echo(new)


@user_app.command("deactivate")
def deactivate(
    name: Annotated[str, typer.Argument(help="User name.")],
    reason: Reason = None,
    data_dir: DataDir = None,
) -> None:
    """Deactivate an account: it can no longer log in and its API tokens are revoked (the
    account and its audit trail stay)."""
    start(data_dir)
    from cpstem.registry import users

    users.deactivate(name, reason=users.cli_reason(reason or "account deactivated"))
    console.print(f"Deactivated {name}; its API tokens and calendar feed are revoked.")


@user_app.command("activate")
def activate(
    name: Annotated[str, typer.Argument(help="User name.")],
    reason: Reason = None,
    data_dir: DataDir = None,
) -> None:
    """Reactivate a deactivated account (consider `cpstem user password` as well)."""
    start(data_dir)
    from cpstem.registry import users

    users.set_active(name, True, reason=users.cli_reason(reason or "account reactivated"))
    console.print(f"Reactivated {name}.")


@user_app.command("role")
def role(
    name: Annotated[str, typer.Argument(help="User name.")],
    new_role: Annotated[str, typer.Argument(metavar="ROLE", help=ROLE_HELP)],
    site: Annotated[
        str | None,
        typer.Option(help="Site code for a clinician or monitor (default: the user's site)."),
    ] = None,
    reason: Reason = None,
    data_dir: DataDir = None,
) -> None:
    """Change a user's role (and site)."""
    start(data_dir)
    from cpstem.registry import users

    users.set_role(name, new_role, site, reason=users.cli_reason(reason or f"role {new_role}"))
    from cpstem.registry.models import Profile

    p = Profile.objects.select_related("site").get(user__username=name)
    console.print(f"{name} is now {p.role}" + (f" at site {p.site.code}" if p.site else ""))


@site_app.command("create")
def create_site(
    code: Annotated[
        str, typer.Argument(help="Short site code, e.g. LUB (capitals, digits, -, _).")
    ],
    name: Annotated[str, typer.Option(help="Full name of the centre.")] = "",
    reason: Reason = None,
    data_dir: DataDir = None,
) -> None:
    """Create a site."""
    start(data_dir)
    from cpstem.registry import users

    site = users.create_site(code, name, reason=users.cli_reason(reason or "site created"))
    console.print(f"Created site {site.code} ({site.name})")


@site_app.command("list")
def list_sites(data_dir: DataDir = None) -> None:
    """List the sites with their active users and patients."""
    start(data_dir)
    from cpstem.registry import users

    table = Table(title="Sites")
    for col in ("code", "name", "users", "patients"):
        table.add_column(col)
    for s in users.sites_with_counts():
        table.add_row(s.code, s.name, str(s.n_users), str(s.n_patients))
    console.print(table)


@user_app.command("list")
def list_users(data_dir: DataDir = None) -> None:
    """List users with their role and site."""
    start(data_dir)
    from django.contrib.auth import get_user_model

    table = Table(title="Users")
    for col in ("name", "role", "site", "active"):
        table.add_column(col)
    for u in get_user_model().objects.select_related("profile__site").order_by("username"):
        profile = getattr(u, "profile", None)
        table.add_row(
            u.username,
            profile.role if profile else ("admin" if u.is_superuser else "-"),
            profile.site.code if profile and profile.site else "",
            "yes" if u.is_active else "no",
        )
    console.print(table)


@token_app.command("create")
def create_token(
    name: Annotated[str, typer.Argument(help="User name the token acts as.")],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Create an API token for a user; the token is printed once, as the last line."""
    start(data_dir)
    from cpstem.registry import users

    key = users.create_token(name, label)
    console.print(f"API token for {name} (shown once; store it safely):")
    typer.echo(key)


@token_app.command("list")
def list_tokens(
    name: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    data_dir: DataDir = None,
) -> None:
    """List API tokens (prefix, user, label, created, last used, revoked); keys are not kept."""
    start(data_dir)
    from cpstem.registry import users

    table = Table(title="API tokens")
    for col in ("prefix", "user", "label", "created", "last used", "revoked"):
        table.add_column(col)
    for t in users.list_tokens(name):
        table.add_row(
            t.prefix,
            t.user.get_username(),
            t.name,
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
            "yes" if t.revoked else "no",
        )
    console.print(table)


@token_app.command("revoke")
def revoke_token(
    prefix: Annotated[
        str | None, typer.Argument(help="Token prefix, as `token list` shows.")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Revoke every token of this user.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Revoke a token (or every token of a user): it is refused from the next request on."""
    start(data_dir)
    from cpstem.registry import users

    n = users.revoke_tokens(prefix, user)
    console.print(f"Revoked {n} token{'s' if n != 1 else ''}.")

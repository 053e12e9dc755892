"""Entry point of the ``cpstem`` command."""

from __future__ import annotations

import typer

from cpstem import __version__
from cpstem.cli import (
    check,
    curves,
    data,
    design,
    evidence,
    gmfm,
    monitoring,
    outcomes,
    randomisation,
    redcap,
    serve,
    tour,
    users,
    worklist,
)
from cpstem.cli.app import App

app = App(
    help="cpstem: stem-cell therapy in cerebral palsy - clinical scales, reference curves, "
    "registry and evidence."
)
app.add_typer(gmfm.app, name="gmfm")
app.add_typer(curves.app, name="curves")
app.add_typer(evidence.app, name="evidence")
app.add_typer(outcomes.app, name="outcomes")
app.add_typer(design.app, name="design")
app.command("tour")(tour.tour)
# registry
app.command("serve")(serve.serve)
app.add_typer(users.user_app, name="user")
app.add_typer(users.token_app, name="token")
app.add_typer(users.site_app, name="site")
app.add_typer(data.demo_app, name="demo")
app.command("export")(data.export)
app.command("import")(data.import_)
app.command("backup")(data.backup)
app.command("restore")(data.restore)
app.command("remind")(worklist.remind)
app.command("check")(check.check)
app.command("queries")(monitoring.queries)
app.command("sdv")(monitoring.sdv)
app.add_typer(redcap.app, name="redcap")
app.add_typer(randomisation.app, name="randomisation")


@app.command()
def version() -> None:
    """Print the cpstem version."""
    typer.echo(__version__)


def main() -> None:
    app(prog_name="cpstem")

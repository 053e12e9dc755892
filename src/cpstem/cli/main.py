"""Entry point of the ``cpstem`` command."""

from __future__ import annotations

import typer

from cpstem import __version__
from cpstem.cli import curves, evidence, gmfm, tour
from cpstem.cli.app import App

app = App(
    help="cpstem: stem-cell therapy in cerebral palsy - clinical scales, reference curves, "
    "registry and evidence."
)
app.add_typer(gmfm.app, name="gmfm")
app.add_typer(curves.app, name="curves")
app.add_typer(evidence.app, name="evidence")
app.command("tour")(tour.tour)


@app.command()
def version() -> None:
    """Print the cpstem version."""
    typer.echo(__version__)


def main() -> None:
    app(prog_name="cpstem")

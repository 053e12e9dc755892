"""The ``cpstem`` command line (typer + rich): files in, files out, terminal."""

"""The shared rich console."""

from rich.console import Console

#: Standard output: results, tables, progress messages.
console: Console = Console(highlight=False)
#: Standard error: one-line user errors and progress bars.
err_console: Console = Console(stderr=True, highlight=False)

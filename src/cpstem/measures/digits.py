"""Whole numbers typed as text."""

from __future__ import annotations


def ascii_digits(text: str) -> bool:
    """True for a non-empty run of 0-9 only. ``str.isdigit`` also accepts '²' (which ``int``
    then refuses: a crash) and '٣' (read as 3, a number nobody typed on a score sheet)."""
    return text.isascii() and text.isdigit()

"""Report the largest relative difference from metafor seen in this run."""

from tests.evidence.parity import MAX_REL


def pytest_terminal_summary(terminalreporter):
    if MAX_REL:
        parts = ", ".join(f"{name} {rel:.1e}" for name, rel in sorted(MAX_REL.items()))
        terminalreporter.write_line(f"metafor parity, max relative difference: {parts}")

"""The test suite's own rule: no module of it imports a test module or a conftest.

Shared helpers live in ``tests/factories.py`` and the other non-test helper modules, so each
test module can be run, moved or deleted on its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def _forbidden(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def imported_test_modules(path: Path) -> list[str]:
    """``line: module`` for each import of a ``test_*`` module or a conftest in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            # `from tests.x import test_y` imports the module test_y too
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [f"{node.lineno}: {name}" for name in names if _forbidden(name)]
    return found


def test_the_checker_sees_every_import_form(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import tests.measures.test_gmfm66\n"
        "from tests.registry.conftest import Api\n"
        "from .conftest import PASSWORD\n"
        "def f():\n"
        "    from tests.reference import test_curves\n"
        "from tests.factories import Api, PASSWORD\n"
        "from tests.evidence.parity import load\n",
        encoding="utf-8",
    )
    assert imported_test_modules(sample) == [
        "1: tests.measures.test_gmfm66",
        "2: tests.registry.conftest",
        "3: .conftest",
        "5: tests.reference.test_curves",
    ]


def test_no_test_module_imports_another_test_module_or_a_conftest():
    # every file of the suite: test modules, conftests and the helper modules alike
    offenders = {
        str(path.relative_to(TESTS.parent)): found
        for path in sorted(TESTS.rglob("*.py"))
        if (found := imported_test_modules(path))
    }
    assert offenders == {}, (
        "move the shared helper into tests/factories.py (or another non-test helper module) "
        f"and import it from there: {offenders}"
    )

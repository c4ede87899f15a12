"""The test suite's own layout: shared fixtures live in tests/conftest.py (and tests/browser/conftest.py), shared
helpers in tests/helpers.py, tests/app_helpers.py and tests/browser/helpers.py; no test module imports from another."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(tree: ast.AST, package: str):
    """Every module an ``import`` or ``from … import`` anywhere in ``tree`` (function bodies too) names, dotted and
    absolute; ``from pkg import name`` also yields ``pkg.name``, since ``name`` may be a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package, e.g. tests.browser
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}" if base else alias.name


def _test_module_imports(path: Path) -> list[str]:
    package = ".".join(path.parent.relative_to(TESTS.parent).parts)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return sorted({name for name in _imported_modules(tree, package) if name.split(".")[-1].startswith("test_")})


def test_no_test_module_imports_from_another():
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        found = _test_module_imports(path)
        if found:
            offenders[str(path.relative_to(TESTS.parent))] = found
    assert offenders == {}, "move shared fixtures to a conftest.py and shared helpers to tests/helpers.py"


def _names_a_test_module(source: str) -> bool:
    return any(name.split(".")[-1].startswith("test_") for name in _imported_modules(ast.parse(source), "tests"))


def test_the_check_catches_each_way_of_importing_a_test_module():
    for source in ("from tests.test_app_pages import _app", "from test_app_pages import offline",
                   "import tests.test_cli", "import test_cli as cli", "from tests import test_model_file",
                   "from . import test_cli", "from .test_cli import run_cli",
                   "def f():\n    from tests.test_app_pages import APP\n"):
        assert _names_a_test_module(source), source
    for source in ("from tests.helpers import run_cli", "from tests.app_helpers import APP",
                   "from tests.browser.helpers import settled", "from nn.train import TrainConfig", "import pytest",
                   "from . import helpers"):
        assert not _names_a_test_module(source), source

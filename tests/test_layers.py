"""The package's layers: each imports only from itself and the layers below it.

engine < results < reporting < experiments < dashboard < commands. ``model.reporting.figures``
draws from plain tables and imports nothing of the package, so the results layer may draw with
it. Every import statement counts, including those inside functions (imported on first use) and
under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "model"
#: Each layer and the layers it may import from (besides itself and the top-level package).
ALLOWED = {
    "engine": set(),
    "results": {"engine", "model.reporting.figures"},
    "reporting": {"engine", "results"},
    "experiments": {"engine", "results", "reporting"},
    "dashboard": {"engine", "results", "reporting", "experiments"},
    "commands": {"engine", "results", "reporting", "experiments", "dashboard"},
}


def _model_imports(path: Path) -> list[tuple[int, str]]:
    """The ``model.*`` modules a file imports, with their line numbers."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("model.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "model":
                found += [(node.lineno, f"model.{a.name}") for a in node.names]
            elif node.module.startswith("model."):
                found.append((node.lineno, node.module))
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def test_every_module_belongs_to_a_layer():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in {"__init__.py", "__main__.py"}]
    assert loose == [], f"modules outside the layers: {loose}"


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_nothing_from_the_layers_above(layer):
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for line, module in _model_imports(path):
            target = _layer(module)
            if target in (None, layer) or target in ALLOWED[layer] or module in ALLOWED[layer]:
                continue
            if target not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert bad == []


def test_figures_import_nothing_of_the_package():
    assert _model_imports(PACKAGE / "reporting" / "figures.py") == []


def test_the_check_finds_an_upward_import(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "def f():\n    from model.reporting import figures\n    import model.results.outputs\n"
    )
    assert _model_imports(sneaky) == [(2, "model.reporting"), (3, "model.results.outputs")]
    assert _layer("model.reporting.figures") == "reporting"

"""Every notebook in ``notebooks/`` executes without error, and is committed without outputs."""

import nbformat
import pytest
from nbclient import NotebookClient

from scripts.strip_notebooks import is_stripped, strip
from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    for name in (
        "01_planner_compare_scenarios.ipynb",
        "02_researcher_sensitivity.ipynb",
        "03_budget_allocation.ipynb",
        "04_calibration.ipynb",
    ):
        assert name in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped(path):
    assert is_stripped(nbformat.read(path, as_version=4)), (
        f"{path.name} holds outputs: run `make strip-notebooks`"
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, monkeypatch):
    # the kernel imports the package of this checkout, whichever one is installed
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=900,  # generous: a loaded machine runs the sweeps several times slower
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors
    # the executed copy strips back to the committed source
    assert strip(nb).cells == nbformat.read(path, as_version=4).cells

"""The analysis notebooks run end to end (small settings), and are committed without stale outputs."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_five_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_tying_dynamics.ipynb",
        "03_reproduction.ipynb",
        "04_translation.ipynb",
        "05_pretrained.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_use_only_the_public_api(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "from embedeval" not in code and "import embedeval." not in code, f"{path.name}: use import embedeval as ee"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_carry_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("EMBEDEVAL_NB_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if os.environ.get("EMBEDEVAL_DATA"):  # the kernel runs in notebooks/: a path relative to here must not move
        monkeypatch.setenv("EMBEDEVAL_DATA", os.path.abspath(os.environ["EMBEDEVAL_DATA"]))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, with the failing cell, on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type != "error"]
    assert shown, "the notebook ran but showed nothing"  # every notebook prints tables or draws figures

"""Every notebook in notebooks/ runs top to bottom (as CI runs it) and is committed
without outputs.
The notebooks train on real Fashion-MNIST; without it they are skipped, except in CI
(`CI` set), where `run.sh test` installs it and a missing data set is a failure.
"""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from hopjax.data import DEBIAN_FASHION_MNIST

from .helpers import REPOSITORY


NOTEBOOKS = sorted((REPOSITORY / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4, [n.name for n in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    with_outputs = [
        i for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not with_outputs, f"{path.name}: clear the outputs of cells {with_outputs}"


@pytest.mark.skipif(
    not (DEBIAN_FASHION_MNIST.exists() or os.environ.get("HOPJAX_DATA_DIR"))
    and not os.environ.get("CI"),
    reason="needs Fashion-MNIST (apt-get install dataset-fashion-mnist)",
)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    # A reader sees every cell's output: no warnings (e.g. an adjoint that did not
    # converge) nor anything else on stderr.
    stderr = [
        (index, output.get("text", ""))
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    ]
    assert not stderr, f"{path.name} writes to stderr: {stderr}"

"""Write a chapter notebook from a list of cells, with the bootstrap cell first.

Usage from a script::

    from tools.notebook import md, code, check, write
    write("chapters/05-gradient-descent.ipynb", [md("# Gradient descent"), code("x = 1"), check("assert x == 1")])

``check`` cells are tagged ``remove-cell``: they run (and fail the build when an
assertion fails) but are not shown on the site. ``python -m tools.notebook FILE...``
normalizes existing notebooks in place: outputs and execution counts stripped,
the bootstrap cell refreshed from ``tools/bootstrap_cell.py``.
"""

from __future__ import annotations

import pathlib
import sys

import nbformat

BOOTSTRAP = (pathlib.Path(__file__).with_name("bootstrap_cell.py")).read_text().strip()
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def md(source: str):
    return nbformat.v4.new_markdown_cell(source.strip())


def code(source: str, *tags: str):
    cell = nbformat.v4.new_code_cell(source.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def check(source: str):
    """A hidden cell that asserts what the prose states."""
    return code(source, "remove-cell")


def write(path, cells) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [code(BOOTSTRAP, "remove-cell"), *cells]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def normalize(path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "code" and "remove-cell" in first.metadata.get("tags", []):
        first.source = BOOTSTRAP
    else:
        nb.cells.insert(0, code(BOOTSTRAP, "remove-cell"))
        nb.cells[0].id = "bootstrap"
    nb.metadata["kernelspec"] = KERNELSPEC
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, str(path))


if __name__ == "__main__":
    for name in sys.argv[1:]:
        normalize(name)

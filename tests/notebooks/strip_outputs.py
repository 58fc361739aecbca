"""Strip a notebook to what we commit: no outputs, no execution counts, no saved widget state.

    .venv/bin/python tests/notebooks/strip_outputs.py notebooks/*.ipynb          # rewrite
    .venv/bin/python tests/notebooks/strip_outputs.py --check notebooks/*.ipynb  # exit 1 if dirty

Only ``nbformat`` is needed. Cell ids, sources and the kernelspec stay as they are; run-time
cell metadata that Jupyter or nbclient add (``execution`` timings, ``scrolled``, ``collapsed``)
goes, and so does the notebook-level ``widgets`` state (it can hold a whole stream's last frame).

>>> import nbformat
>>> nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
>>> cell = nbformat.v4.new_code_cell("1 + 1", execution_count=3)
>>> cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
>>> nb.cells.append(cell)
>>> problems(nb)
['notebook metadata: saved widget state', 'cell 0: 1 output(s)', 'cell 0: execution count 3']
>>> strip(nb), problems(nb)
(True, [])
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

RUNTIME_CELL_METADATA = ("execution", "scrolled", "collapsed", "ExecuteTime")


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps ``nb`` from being committed as is (empty when clean)."""
    found = []
    if "widgets" in nb.metadata:
        found.append("notebook metadata: saved widget state")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {index}: {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"cell {index}: execution count {cell.execution_count}")
        extra = [key for key in RUNTIME_CELL_METADATA if key in cell.metadata]
        if extra:
            found.append(f"cell {index}: run-time metadata {', '.join(extra)}")
    return found


def strip(nb: nbformat.NotebookNode) -> bool:
    """Remove outputs, execution counts and run-time metadata in place; True if anything changed."""
    changed = bool(problems(nb))
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            for key in RUNTIME_CELL_METADATA:
                cell.metadata.pop(key, None)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Strip (or with ``--check`` only report) each notebook; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    dirty = 0
    for path in args.paths:
        nb = nbformat.read(path, as_version=4)
        found = problems(nb)
        if args.check:
            for problem in found:
                print(f"{path}: {problem}")
            dirty += bool(found)
        elif strip(nb):
            nbformat.validate(nb)
            nbformat.write(nb, path)
            print(f"stripped {path}")
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main())

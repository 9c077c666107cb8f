"""How long each notebook takes to run top to bottom with its quick parameters, as a class would run it.

    python benchmarks/notebook_times.py > results/notebook_times.md

Each notebook runs in a fresh kernel started from notebooks/ (the way JupyterLab starts one), on a copy, so the
committed outputs stay as they are. The clock covers the kernel's start and every cell. The data sets come
from FEWSHOT_LAB_DATA / FEWSHOT_LAB_MIRROR as for any run; run it once before timing, so that no notebook is
timed while it downloads or generates a data set. Run it on an idle machine: a second job on the cores
makes every figure wrong. Exits 1 when a notebook takes longer than the 2-minute budget of a live class.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hardware import cpu_description

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
BUDGET_SECONDS = 120


def run_seconds(path: Path) -> float:
    """Wall-clock seconds to start a kernel in notebooks/ and run every cell of the notebook at `path`."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": NOTEBOOKS}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook file names (default: every notebook)")
    args = parser.parse_args()
    paths = [NOTEBOOKS / name for name in args.names] or sorted(NOTEBOOKS.glob("*.ipynb"))
    rows = [(path.name, run_seconds(path)) for path in paths]
    print("# Notebook running times (quick parameters, top to bottom)\n")
    print(f"Command: `python benchmarks/notebook_times.py{''.join(' ' + name for name in args.names)}`  ")
    print(f"Hardware: {cpu_description()}, {torch.get_num_threads()} torch threads  ")
    print(f"Date: {datetime.date.today().isoformat()}  ")
    print(f"Budget: {BUDGET_SECONDS} s a notebook (a live class on 2 cores)\n")
    print("| notebook | seconds | within budget |")
    print("| --- | ---: | --- |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.0f} | {'yes' if seconds <= BUDGET_SECONDS else 'NO'} |")
    print(f"| all | {sum(seconds for _, seconds in rows):.0f} | |")
    return 0 if all(seconds <= BUDGET_SECONDS for _, seconds in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

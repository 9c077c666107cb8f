"""How far the shipped MANN's reproduction fingerprint moves with the processor's kernels, the thread count and
changes of its recipe (the numbers behind tests/test_mann_pretrained.py's tolerance).

    python benchmarks/fingerprint.py > results/fingerprint.md

Each case runs fewshot_lab.pretrained.short_fingerprint("mann_omniglot") (the recipe's commands, a few steps each,
in float64) in a fresh process, so that ATEN_CPU_CAPABILITY, which torch reads once at start, takes effect. The
table gives each fingerprint's largest relative distance from the one shipped in the model. The data set comes
from FEWSHOT_LAB_DATA / FEWSHOT_LAB_MIRROR as for any run (about a minute a case on one core).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hardware import cpu_description

from fewshot_lab.pretrained import load_pretrained

NAME = "mann_omniglot"


def _scaled_lr(line: list[str], factor: float, method: str) -> list[str]:
    """The command with `method`'s Adam learning rate (written, or the CLI's default 1e-3) times factor."""
    if line[line.index("--method") + 1] != method:
        return line
    if "--lr" not in line:
        return [*line, "--lr", repr(1e-3 * factor)]
    index = line.index("--lr") + 1
    return [*line[:index], repr(float(line[index]) * factor), *line[index + 1 :]]


# case -> (what changes, extra environment, edit of each command line, threads)
CASES = {
    "this CPU's kernels, 1 thread": ("nothing (the test's own run)", {}, None, 1),
    "ATEN_CPU_CAPABILITY=default": (
        "kernels: plain C++, no vector instructions",
        {"ATEN_CPU_CAPABILITY": "default"},
        None,
        1,
    ),
    "ATEN_CPU_CAPABILITY=avx2": ("kernels: AVX2", {"ATEN_CPU_CAPABILITY": "avx2"}, None, 1),
    "2 threads": ("threads: a convolution's backward pass sums in another order", {}, None, 2),
    "MANN lr x 1.1": ("recipe: the MANN's learning rate 3e-3 -> 3.3e-3", {}, ("mann", 1.1), 1),
    "k-NN encoder lr x 1.1": ("recipe: the encoder's learning rate 1e-3 -> 1.1e-3", {}, ("knn", 1.1), 1),
    "MANN lr x 1.01": ("recipe: the MANN's learning rate 3e-3 -> 3.03e-3", {}, ("mann", 1.01), 1),
}


def run_case(edit, threads: int) -> list[float]:
    """short_fingerprint in this process, with each command edited by `edit` (method, factor) and on `threads`."""
    import fewshot_lab.engine as engine
    from fewshot_lab.pretrained import short_fingerprint

    pinned = engine.torch_threads
    engine.torch_threads = lambda count: pinned(threads)  # short_fingerprint pins one thread; this case asks for more
    method, factor = edit or (None, 1.0)
    return short_fingerprint(NAME, edit=(lambda line: _scaled_lr(line, factor, method)) if edit else None)


def distance(values: list[float], reference: list[float]) -> float:
    """The largest relative difference between two fingerprints."""
    return max(abs(a - b) / abs(b) for a, b in zip(values, reference))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        edit, threads = json.loads(sys.argv[2])
        print(json.dumps(run_case(edit, threads)))
        return
    shipped = load_pretrained(NAME).pretrained["short_fingerprint"]
    print(f"# What moves the reproduction fingerprint of {NAME}\n")
    print("Command: `python benchmarks/fingerprint.py > results/fingerprint.md`  ")
    print(f"Hardware: {cpu_description()}, {os.cpu_count()} cores; date {datetime.date.today()}\n")
    print("| case | what changes | largest relative distance from the shipped fingerprint |")
    print("| --- | --- | --- |")
    for case, (what, environment, edit, threads) in CASES.items():
        output = subprocess.run(
            [sys.executable, __file__, "--case", json.dumps([edit, threads])],
            env={**os.environ, **environment},
            capture_output=True,
            text=True,
            check=True,
        )
        values = json.loads(output.stdout.strip().splitlines()[-1])
        print(f"| {case} | {what} | {distance(values, shipped):.1e} |", flush=True)


if __name__ == "__main__":
    main()

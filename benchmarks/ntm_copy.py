"""Bit errors per sequence of the shipped Neural Turing Machine and its LSTM baseline on the copy task, at the longest
trained length and beyond (results/ntm_copy.md), with the two figures of the lesson.

    OMP_NUM_THREADS=1 python benchmarks/ntm_copy.py > results/ntm_copy.md

It trains nothing: it scores the models fewshot_lab.pretrained ships ("ntm_copy", "lstm_copy"), whose commands it
prints, or the run folders given with --ntm RUN --lstm RUN, and any more run folders given with --extra NAME RUN,
on the same seeded test sequences at every length.
The figures go beside the table (results/ntm_copy_weightings.png, results/ntm_copy_by_length.png).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matplotlib

matplotlib.use("Agg")
import numpy as np
from hardware import cpu_description

from fewshot_lab.data import load_dataset
from fewshot_lab.lessons.s76 import (
    copy_trace,
    errors_by_length,
    plot_bit_errors_by_length,
    plot_copy_weightings,
)
from fewshot_lab.pretrained import load_pretrained
from fewshot_lab.saved import load

RESULTS = Path(__file__).resolve().parents[1] / "results"
TRAINED = 10  # the longest training length of the recipes
LENGTHS = (1, 5, 10, 15, 20, 25, 30, 40)


def learner_and_origin(run: str | None, shipped: str):
    """The learner of a run folder, or the shipped model `shipped`, with the commands and seconds that trained it."""
    if run is not None:
        saved = load(run, device="cpu")
        history = (saved.training or {}).get("history", {})
        plan = " ".join(f"{name}={value}" for name, value in saved.training["plan"].items())
        return (
            saved.learner,
            [f"the run in {run}, {saved.learner.method} on {saved.dataset['name']}: {plan}"],
            history.get("seconds"),
        )
    learner = load_pretrained(shipped)
    return learner, learner.pretrained["commands"], learner.pretrained["history"]["seconds"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ntm", default=None, help="an ntm run folder (default: the shipped ntm_copy)")
    parser.add_argument("--lstm", default=None, help="an lstm-copy run folder (default: the shipped lstm_copy)")
    parser.add_argument("--extra", nargs=2, action="append", default=[], metavar=("NAME", "RUN"), help="another run")
    parser.add_argument("--episodes", type=int, default=100, help="test sequences per length (default 100)")
    arguments = parser.parse_args(argv)
    copy = load_dataset("copy")
    learners = {}
    print("# The Neural Turing Machine and an LSTM on the copy task\n")
    command = shlex.join(["python", "benchmarks/ntm_copy.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"Command: `OMP_NUM_THREADS=1 {command} > results/ntm_copy.md`  ")
    print(f"Hardware: {cpu_description()}, {os.cpu_count()} cores; date {datetime.date.today()}\n")
    print("Trained by (sequences of 1 to 10 random 8-bit vectors, 16 per step, Adam with a cosine-annealed rate):\n")
    runs = [("NTM", arguments.ntm, "ntm_copy"), ("LSTM", arguments.lstm, "lstm_copy")]
    for name, run, shipped in runs + [(name, run, None) for name, run in arguments.extra]:
        learner, commands, seconds = learner_and_origin(run, shipped)
        weights = sum(parameter.numel() for parameter in learner.parameters())
        learners[name] = learner
        for command in commands:
            print(f"    {command}")
        print(f"  ({name}: {weights:,} weights, {seconds:.0f} s of training)\n" if seconds else "")
    results = {
        name: errors_by_length(learner, copy, LENGTHS, episodes=arguments.episodes)
        for name, learner in learners.items()
    }
    first = results["NTM"][0]
    print(
        f"Bit errors per sequence (mean ± 95% CI) on {first.episodes} seeded {first.split} sequences per length "
        f"(seed {first.seed}; the same sequences for every network); in brackets, the sequences copied without an "
        f"error:\n"
    )
    print("| length | " + " | ".join(results) + " |")
    print("| --- |" + " --- |" * len(results))
    for index, length in enumerate(LENGTHS):
        marks = " (trained)" if length == TRAINED else " (twice)" if length == 2 * TRAINED else ""
        cells = [
            f"{result[index].mean:.2f} ± {result[index].ci95:.2f} ({100 * np.mean(result[index].values == 0):.0f}%)"
            for result in results.values()
        ]
        print(f"| {length}{marks} | " + " | ".join(cells) + " |")
    chance = ", ".join(f"{4 * length} at length {length}" for length in (TRAINED, 2 * TRAINED))
    print(f"\nChance (every bit a coin toss) is half the bits: {chance}.")
    figure = plot_bit_errors_by_length(results, trained=TRAINED)
    figure.savefig(RESULTS / "ntm_copy_by_length.png", dpi=100)
    figure = plot_copy_weightings(copy_trace(learners["NTM"], copy.sampler("test", shots=2 * TRAINED).sample()))
    figure.savefig(RESULTS / "ntm_copy_weightings.png", dpi=100)
    print(
        "\nFigures: `ntm_copy_by_length.png` (the table as curves), `ntm_copy_weightings.png` (the NTM's write and "
        "read weights over one test sequence of length 20)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

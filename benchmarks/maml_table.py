"""The MAML family on images: train each method for a fixed number of steps, then test it on 600 seeded tasks.

    OMP_NUM_THREADS=1 python benchmarks/maml_table.py --steps 400 > results/maml_family.md

A MAML-family learner has a head of `ways` outputs, so (as in Finn et al.) one model is meta-trained per
number of ways: 5-way 1-shot for the 5-way columns and 20-way 1-shot for the 20-way columns; the 1-shot
model is also tested at 5 shots. Training: Conv-4, 5 queries per class, meta-batch 4 tasks (2 for 20 ways),
one inner step of 0.4 (Reptile: 5 steps of 0.1 on support and query together), 3 steps at test time,
Adam lr 1e-3 cosine-annealed, augmentation `all`, transductive batch norm as in the papers.
Evaluation: `fewshot-lab evaluate` on the test split, 15 queries, 600 tasks, seed 0, 95% CI.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
from pathlib import Path

import torch
from few_shot_table import SETTINGS, accuracy_cell, print_commands, run
from shared_data import use_shared_omniglot

METHODS = {
    "maml": ["--inner-steps", "1", "--inner-lr", "0.4"],
    "fomaml": ["--inner-steps", "1", "--inner-lr", "0.4"],
    "metasgd": ["--inner-steps", "1", "--inner-lr", "0.4"],
    "anil": ["--inner-steps", "1", "--inner-lr", "0.4"],
    "reptile": ["--inner-steps", "5", "--inner-lr", "0.1"],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="meta-training steps per model")
    parser.add_argument("--datasets", nargs="+", default=["omniglot-small", "glyphs"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--episodes", type=int, default=600)
    arguments = parser.parse_args()
    use_shared_omniglot()
    runs = Path(tempfile.mkdtemp(prefix="fewshot_maml_runs_"))
    print(
        f"Command: `OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')} python benchmarks/maml_table.py "
        f"--steps {arguments.steps} --datasets {' '.join(arguments.datasets)} "
        f"--methods {' '.join(arguments.methods)}`  "
    )
    print(
        f"Hardware: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads, python {platform.python_version()}, "
        f"{'CUDA' if torch.cuda.is_available() else 'CPU only'}  "
    )
    print(
        f"Protocol: meta-test split, 15 queries per class, {arguments.episodes} tasks, seed 0, 95% CI; Conv-4; "
        f"3 inner steps at test time; transductive batch norm (query-set statistics, as in the MAML papers).\n"
    )
    for dataset in arguments.datasets:
        print(f"## {dataset}\n")
        print(
            "| method | training (5-way model, 20-way model) | "
            + " | ".join(f"{w}-way {s}-shot" for w, s in SETTINGS)
            + " |"
        )
        print("| --- | --- | " + " | ".join("---" for _ in SETTINGS) + " |", flush=True)
        commands = []
        for method in arguments.methods:
            cells, times = [], []
            for ways in (5, 20):
                out = runs / f"{dataset}-{method}-{ways}"
                train = [
                    "train",
                    "--method",
                    method,
                    "--dataset",
                    dataset,
                    "--ways",
                    str(ways),
                    "--shots",
                    "1",
                    "--queries",
                    "5",
                    "--meta-batch",
                    "4" if ways == 5 else "2",
                    *METHODS[method],
                    "--steps",
                    str(arguments.steps),
                    "--val-every",
                    str(arguments.steps),
                    "--val-episodes",
                    "50",
                    "--seed",
                    "0",
                    "--out",
                    str(out),
                ]
                _, seconds = run(train)
                times.append(f"{seconds / 60:.1f} min")
                commands.append("fewshot-lab " + " ".join([*train[:-1], f"runs/{dataset}-{method}-{ways}"]))
                for setting_ways, shots in SETTINGS:
                    if setting_ways != ways:
                        continue
                    text, _ = run(
                        [
                            "evaluate",
                            str(out),
                            "--ways",
                            str(ways),
                            "--shots",
                            str(shots),
                            "--episodes",
                            str(arguments.episodes),
                            "--inner-steps",
                            "3",
                            "--json",
                        ]
                    )
                    cells.append(accuracy_cell(text))
            print(f"| {method} | {', '.join(times)} | " + " | ".join(cells) + " |", flush=True)
        print_commands(
            commands,
            f"fewshot-lab evaluate runs/NAME --ways W --shots S --episodes {arguments.episodes} --inner-steps 3",
        )
    shutil.rmtree(runs)


if __name__ == "__main__":
    main()

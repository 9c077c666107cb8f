"""Train each method on each dataset for a fixed budget, then test it on 600 seeded tasks.

    python benchmarks/few_shot_table.py --steps 2500 > results/metric_methods.md
    python benchmarks/few_shot_table.py --max-minutes 3      # a wall-clock budget instead (needs a quiet CPU)

For every dataset and method: `fewshot-lab train` on the train split (20-way 1-shot 5-query episodes for
the episodic methods; classification over all meta-train classes for knn and finetune, which share
one pretraining: finetune is evaluated on the knn run's weights), then `fewshot-lab evaluate` on the
test split at 5/20 ways and 1/5 shots, 15 queries, 600 tasks, seed 0. Prints a markdown report with
the exact commands, the wall times and the hardware.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from shared_data import use_shared_omniglot

from fewshot_lab.cli import main as cli
from fewshot_lab.methods.recipes import recipe_for

SETTINGS = [(5, 1), (5, 5), (20, 1), (20, 5)]
VALIDATION = ["--val-every", "500", "--val-ways", "5"]  # light validation: more of the budget goes to training
TRAINING = {
    "protonet": ["--ways", "20", "--shots", "1", "--queries", "5", "--lr", "3e-3", *VALIDATION],
    "matching": ["--ways", "20", "--shots", "1", "--queries", "5", *VALIDATION],
    "knn": VALIDATION,
}


def run(arguments: list[str]) -> tuple[str, float]:
    output = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(output):
        code = cli(arguments)
    if code != 0:
        raise SystemExit(f"fewshot-lab {' '.join(arguments)} failed with exit code {code}")
    return output.getvalue(), time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--steps", type=int, help="optimiser steps per training run")
    budget.add_argument("--max-minutes", type=float, help="wall-clock budget per training run")
    parser.add_argument("--datasets", nargs="+", default=["omniglot-small", "glyphs"])
    parser.add_argument("--episodes", type=int, default=600)
    arguments = parser.parse_args()
    use_shared_omniglot()
    runs = Path(tempfile.mkdtemp(prefix="fewshot_runs_"))
    budget = ["--steps", str(arguments.steps)] if arguments.steps else ["--max-minutes", f"{arguments.max_minutes:g}"]
    print(
        f"Command: `OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')} python benchmarks/few_shot_table.py "
        f"{' '.join(budget)}`  "
    )
    print(
        f"Hardware: {platform.machine()}, {os.cpu_count()} cores ({platform.processor() or 'cpu'}), "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads, python {platform.python_version()}, "
        f"{'CUDA' if torch.cuda.is_available() else 'CPU only'}  "
    )
    print(
        f"Protocol: meta-test split, 15 queries per class, {arguments.episodes} tasks, seed 0, 95% CI; "
        f"Conv-4 backbone; training-time augmentation `all` (rotated classes + affine); non-transductive "
        f"batch norm (running statistics at test time).\n"
    )
    for dataset in arguments.datasets:
        print(f"## {dataset}\n")
        print("| method | training | " + " | ".join(f"{w}-way {s}-shot" for w, s in SETTINGS) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in SETTINGS) + " |")
        commands = []
        for method in ("protonet", "matching", "knn", "finetune"):
            if method == "finetune":
                out = runs / f"{dataset}-finetune"
                shutil.copytree(runs / f"{dataset}-knn", out)
                _retag(out, "finetune")
                training = "the knn run's pretraining"
            else:
                out = runs / f"{dataset}-{method}"
                train = [
                    "train",
                    "--method",
                    method,
                    "--dataset",
                    dataset,
                    *TRAINING[method],
                    *budget,
                    "--seed",
                    "0",
                    "--out",
                    str(out),
                ]
                _, seconds = run(train)
                commands.append("fewshot-lab " + " ".join([*train[:-1], f"runs/{dataset}-{method}"]))
                training = f"{seconds / 60:.1f} min"
            cells = []
            for ways, shots in SETTINGS:
                evaluate = [
                    "evaluate",
                    str(out),
                    "--ways",
                    str(ways),
                    "--shots",
                    str(shots),
                    "--episodes",
                    str(arguments.episodes),
                    "--json",
                ]
                cells.append(accuracy_cell(run(evaluate)[0]))
            print(f"| {method} | {training} | " + " | ".join(cells) + " |", flush=True)
        print_commands(commands, f"fewshot-lab evaluate runs/NAME --ways W --shots S --episodes {arguments.episodes}")
    shutil.rmtree(runs)


def accuracy_cell(evaluate_json: str) -> str:
    """'97.1 ± 0.4' from the JSON line of `fewshot-lab evaluate --json`."""
    record = json.loads(evaluate_json)
    return f"{100 * record['mean']:.1f} ± {100 * record['ci95']:.1f}"


def print_commands(commands: list[str], evaluation: str):
    print(f"\nTraining commands (evaluation: `{evaluation}`):\n")
    for command in commands:
        print(f"    {command}")
    print(flush=True)


def _retag(run_folder: Path, method: str):
    """A copy of a knn run whose checkpoints name the finetune method (same weights: one pretraining serves both)
    and carry its recipe's evaluation choice (finetune adapts a head, so no shifted views of a metric learner)."""
    for name in ("best.pt", "last.pt"):
        path = run_folder / name
        if path.exists():
            payload = torch.load(path, weights_only=True)
            payload["method"] = method
            payload["training"]["plan"]["test_views"] = recipe_for(method).test_views
            torch.save(payload, path)


if __name__ == "__main__":
    sys.exit(main())

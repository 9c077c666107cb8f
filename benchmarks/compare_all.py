"""One command behind the comparison table: train every method through the CLI, then `fewshot-lab compare`.

    OMP_NUM_THREADS=1 python benchmarks/compare_all.py --steps 2000 --out results/compare_all.md      # everything
    OMP_NUM_THREADS=1 python benchmarks/compare_all.py --steps 60 --datasets glyphs \\
        --methods protonet knn finetune anil --episodes 100 --out results/compare_small.md           # a small version
    fewshot-lab compare --from-results results/compare_all.json --out results/compare_all.md \\
        --figure results/compare_all.png                                                           # rebuild the table

For each dataset and method: `fewshot-lab train` with the method's recipe below and the same step budget, the
run folders kept in --runs; finetune is the knn run's pretraining relabelled (one pretraining serves both, as
in benchmarks/few_shot_table.py). Then `fewshot-lab compare` scores every run on the same seeded test tasks at
5/20 ways and 1/5 shots and writes the markdown table, its JSON record and the accuracy-against-training-time
figure. A method whose model has a fixed number of outputs (the MAML family, the memory networks) is trained
once at 5 ways and marked n/a at 20 ways; the recipes follow the method tables of results/.
"""
from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path

from few_shot_table import _retag, run
from shared_data import use_shared_omniglot
from fewshot_lab.cli import _setting
from fewshot_lab.compare import compare, write_comparison
from fewshot_lab.plots_compare import save_accuracy_against_training_time

MAML_STEP = ["--ways", "5", "--queries", "5", "--meta-batch", "4", "--inner-steps", "1", "--inner-lr", "0.4"]
RECIPES = {  # method -> training options of `fewshot-lab train` (the budget and validation are added)
    "protonet": ["--ways", "20", "--shots", "1", "--queries", "5", "--lr", "3e-3"],
    "matching": ["--ways", "20", "--shots", "1", "--queries", "5"],
    "knn": [],
    "finetune": None,  # the knn run, relabelled
    "maml": MAML_STEP,
    "fomaml": MAML_STEP,
    "metasgd": MAML_STEP,
    "anil": MAML_STEP,
    "reptile": ["--ways", "5", "--queries", "5", "--meta-batch", "4", "--inner-steps", "5", "--inner-lr", "0.1"],
    "mann": ["--ways", "5", "--meta-batch", "16", "--lr", "3e-3"],
    "lstm": ["--ways", "5", "--meta-batch", "16", "--lr", "3e-3"],
    "metalstm": ["--backbone", "conv4-small", "--ways", "5", "--queries", "15", "--inner-steps", "5", "--lr", "3e-3"],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, required=True, help="optimiser steps of every training run")
    parser.add_argument("--datasets", nargs="+", default=["omniglot-small", "glyphs"])
    parser.add_argument("--methods", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--settings", nargs="+", default=["5x1", "5x5", "20x1", "20x5"])
    parser.add_argument("--episodes", type=int, default=600, help="test tasks per setting (default 600)")
    parser.add_argument("--runs", default="runs/compare", help="folder for the run folders (default runs/compare)")
    parser.add_argument("--out", required=True, help="the markdown table; its .json and .png go beside it")
    parser.add_argument("--note", default="", help="a sentence printed under the table's protocol")
    arguments = parser.parse_args()
    if "finetune" in arguments.methods and "knn" not in arguments.methods:
        parser.error("finetune reuses the knn run's pretraining: list knn too")
    use_shared_omniglot()
    runs = Path(arguments.runs)
    validation = ["--val-every", str(max(1, arguments.steps // 4)), "--val-episodes", "100", "--val-ways", "5"]
    folders = []
    for dataset in arguments.datasets:
        for method in arguments.methods:
            folder = runs / f"{dataset}-{method}"
            if RECIPES[method] is None:
                shutil.rmtree(folder, ignore_errors=True)
                shutil.copytree(runs / f"{dataset}-knn", folder)
                _retag(folder, method)
            else:
                run(["train", "--method", method, "--dataset", dataset, *RECIPES[method], "--steps", str(arguments.steps),
                     *validation, "--seed", "0", "--out", str(folder)])
            folders.append(folder)
            print(f"trained {folder}", flush=True)
    settings = [_setting(text) for text in arguments.settings]
    comparison = compare(folders, settings, episodes=arguments.episodes)  # each run on its own dataset's test tasks
    comparison.command = "OMP_NUM_THREADS=1 python benchmarks/compare_all.py " + shlex.join(sys.argv[1:])
    comparison.note = arguments.note
    out = Path(arguments.out)
    write_comparison(comparison, out)
    save_accuracy_against_training_time(comparison, out.with_suffix(".png"))
    print(f"wrote {out}, {out.with_suffix('.json')} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    sys.exit(main())

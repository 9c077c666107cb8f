"""One command behind the comparison table: train every method through the CLI, then `fewshot-lab compare`.

    OMP_NUM_THREADS=1 python benchmarks/compare_all.py --steps 2000 --out results/compare_all.md      # everything
    OMP_NUM_THREADS=1 python benchmarks/compare_all.py --steps 500 --max-minutes 2.5 --episodes 200 \\
        --datasets glyphs --out glyphs.md          # a short budget: 500 steps or 2.5 minutes, whichever is first
    fewshot-lab compare --from-results glyphs.json omniglot-small.json --out results/compare_all.md \\
        --figure results/compare_all.png                          # one table from per-dataset runs made side by side

For each dataset and method: `fewshot-lab train` with the method's recipe below and the same budget (--steps,
--max-minutes or both, whichever ends first: a wall-clock cap bounds the slow methods, and the table shows the
steps and seconds each run got), the run folders kept in --runs; finetune is the knn run's pretraining
relabelled (one pretraining serves both, as in benchmarks/few_shot_table.py), and MANN and the LSTM read
that run's embedding, frozen, as their image code. A method whose model has a
fixed number of outputs (the MAML family's head, the label slots of the memory networks)
is trained once per number of ways in --settings, each run on tasks of its own width (`{dataset}-{method}`
at the recipe's 5 ways, `{dataset}-{method}-20way` at 20). Then `fewshot-lab compare` scores every run on the
same seeded test tasks at each setting and writes the markdown table, its JSON record and the
accuracy-against-training-time figure; a run's n/a at a width that another run of its method covers is
dropped (fewshot_lab.compare.scoring.drop_covered_gaps). The recipes follow the method tables of results/.
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
from fewshot_lab.compare.scoring import compare
from fewshot_lab.compare.table import write_comparison
from fewshot_lab.lessons.compare import save_accuracy_against_training_time
from fewshot_lab.methods import learner_class

MAML_STEP = ["--ways", "5", "--queries", "5", "--meta-batch", "4", "--inner-steps", "1", "--inner-lr", "0.4"]
MEMORY_CODE = ["--encoder", "conv4", "--freeze-encoder", "--init", "{knn}", "--augment", "rotations"]
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
    # the memory networks read the frozen conv4 code of the knn run (results/mann_omniglot_small.md: on raw
    # pixels they stay at chance for thousands of steps)
    "mann": ["--ways", "5", "--meta-batch", "16", "--lr", "3e-3", *MEMORY_CODE],
    "lstm": ["--ways", "5", "--meta-batch", "16", "--lr", "3e-3", *MEMORY_CODE],
    "metalstm": ["--backbone", "conv4-small", "--ways", "5", "--queries", "15", "--inner-steps", "5", "--lr", "3e-3"],
}


def with_ways(recipe: list[str], ways: int) -> list[str]:
    """The recipe with its --ways replaced (every fixed-width recipe names its ways)."""
    recipe = list(recipe)
    recipe[recipe.index("--ways") + 1] = str(ways)
    return recipe


def planned_runs(dataset: str, method: str, widths: list[int]) -> list[tuple[str, list[str] | None]]:
    """(run folder name, training options) for one method on one dataset: one run, or one per width."""
    recipe = RECIPES[method]
    if not learner_class(method).sized_by_ways:  # Meta-LSTM's head has max_ways (20) rows: one run takes every width
        return [(f"{dataset}-{method}", recipe)]
    own = int(recipe[recipe.index("--ways") + 1])
    return [
        (f"{dataset}-{method}" if ways == own else f"{dataset}-{method}-{ways}way", with_ways(recipe, ways))
        for ways in widths
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps of every training run")
    parser.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget of every training run")
    parser.add_argument("--datasets", nargs="+", default=["omniglot-small", "glyphs"])
    parser.add_argument("--methods", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--settings", nargs="+", default=["5x1", "5x5", "20x1", "20x5"])
    parser.add_argument("--episodes", type=int, default=600, help="test tasks per setting (default 600)")
    parser.add_argument(
        "--val-every",
        type=int,
        default=None,
        help="steps between validations (default: a quarter of --steps, else 100)",
    )
    parser.add_argument("--runs", default="runs/compare", help="folder for the run folders (default runs/compare)")
    parser.add_argument("--out", required=True, help="the markdown table; its .json and .png go beside it")
    parser.add_argument("--note", default="", help="a sentence printed under the table's protocol")
    arguments = parser.parse_args()
    if arguments.steps is None and arguments.max_minutes is None:
        parser.error("give --steps, --max-minutes or both: every training run needs the same budget")
    for method in ("finetune", "mann", "lstm"):
        if method in arguments.methods and "knn" not in arguments.methods:
            parser.error(f"{method} reuses the knn run's pretraining: list knn too")
    settings = [_setting(text) for text in arguments.settings]
    widths = sorted({ways for ways, _ in settings})
    use_shared_omniglot()
    runs = Path(arguments.runs)
    budget = (["--steps", str(arguments.steps)] if arguments.steps is not None else []) + (
        ["--max-minutes", str(arguments.max_minutes)] if arguments.max_minutes is not None else []
    )
    val_every = arguments.val_every or (max(1, arguments.steps // 4) if arguments.steps is not None else 100)
    validation = ["--val-every", str(val_every), "--val-episodes", "100", "--val-ways", "5"]
    folders = []
    for dataset in arguments.datasets:
        for method in [method for method in RECIPES if method in arguments.methods]:  # knn before its users
            for name, recipe in planned_runs(dataset, method, widths):
                folder = runs / name
                if recipe is None:
                    shutil.rmtree(folder, ignore_errors=True)
                    shutil.copytree(runs / f"{dataset}-knn", folder)
                    _retag(folder, method)
                else:
                    recipe = [str(runs / f"{dataset}-knn") if part == "{knn}" else part for part in recipe]
                    run(
                        [
                            "train",
                            "--method",
                            method,
                            "--dataset",
                            dataset,
                            *recipe,
                            *budget,
                            *validation,
                            "--seed",
                            "0",
                            "--replace",
                            "--out",
                            str(folder),
                        ]
                    )
                folders.append(folder)
                print(f"trained {folder}", flush=True)
    comparison = compare(folders, settings, episodes=arguments.episodes)  # each run on its own dataset's test tasks
    comparison.command = "OMP_NUM_THREADS=1 python benchmarks/compare_all.py " + shlex.join(sys.argv[1:])
    comparison.note = arguments.note
    out = Path(arguments.out)
    write_comparison(comparison, out)
    save_accuracy_against_training_time(comparison, out.with_suffix(".png"))
    print(f"wrote {out}, {out.with_suffix('.json')} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    sys.exit(main())

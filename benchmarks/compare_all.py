"""One command behind the comparison table: train every method through the CLI, then `fewshot-lab compare`.

    OMP_NUM_THREADS=1 python benchmarks/compare_all.py --max-minutes 2.5 --episodes 200 \\
        --datasets glyphs --out glyphs.md            # every method: its own recipe for 2.5 minutes of wall clock
    fewshot-lab compare --from-results glyphs.json omniglot-small.json --out results/compare_all.md \\
        --figure results/compare_all.png             # one table from per-dataset runs made side by side

A fair comparison gives every method the same wall clock, not the same steps: a MAML step costs several ProtoNet
steps, and a method that needs many cheap steps would lose a race counted in steps. So each method trains with its
own recipe (fewshot_lab.methods.recipes, the defaults of `fewshot-lab train`, chosen on meta-validation) for
--max-minutes, and the table shows the steps each run fitted in. finetune is the knn run's pretraining relabelled (one
pretraining serves both, as in benchmarks/few_shot_table.py). A method whose model has a fixed number of outputs
(the MAML family's head) is trained once per number of ways in --settings, each run on tasks of its own width
(`{dataset}-{method}` at the recipe's 5 ways, `{dataset}-{method}-20way` at 20), within the same budget.

The memory networks (MANN and its LSTM baseline) need thousands of steps before their memory is used
(results/mann_omniglot_small.md): within minutes they stay at chance, which would say nothing about them. They are
shown as the models shipped in fewshot_lab/pretrained, with the training time their run recorded, on the dataset
they were trained on (omniglot-small).

Then every run is scored on the same seeded test tasks at each setting (`fewshot_lab.compare.scoring`), and the
markdown table, its JSON record and the accuracy-against-training-time figure, titled with the budget, are written.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path

from few_shot_table import _retag, run
from shared_data import use_shared_omniglot

from fewshot_lab.backbones import default_device
from fewshot_lab.cli import _setting
from fewshot_lab.compare.scoring import compare, drop_covered_gaps, measure
from fewshot_lab.compare.table import Cell, check_same_tasks, write_comparison
from fewshot_lab.data import load_saved_dataset
from fewshot_lab.lessons.compare import save_accuracy_against_training_time
from fewshot_lab.methods import learner_class
from fewshot_lab.methods.recipes import recipe_for
from fewshot_lab.pretrained import load_pretrained

# the methods trained here, each by its recipe (fewshot_lab.methods.recipes: `fewshot-lab train`'s defaults, chosen on
# meta-validation); finetune is the knn run, relabelled
TRAINED = ("protonet", "matching", "knn", "finetune", "maml", "fomaml", "metasgd", "anil", "reptile", "metalstm")
SHIPPED = {"mann": "mann_omniglot", "lstm": "lstm_omniglot"}  # method -> its model in fewshot_lab/pretrained


def planned_runs(dataset: str, method: str, widths: list[int]) -> list[tuple[str, list[str] | None]]:
    """(run folder name, training options beyond the recipe) for one method on one dataset: one run, or one per
    width; None for finetune, which reuses the knn run."""
    if method == "finetune":
        return [(f"{dataset}-{method}", None)]
    if not learner_class(method).sized_by_ways:  # Meta-LSTM's head has max_ways (20) rows: one run takes every width
        return [(f"{dataset}-{method}", [])]
    own = recipe_for(method).training["ways"]
    return [
        (f"{dataset}-{method}", []) if ways == own else (f"{dataset}-{method}-{ways}way", ["--ways", str(ways)])
        for ways in widths
    ]


def shipped_cells(method: str, dataset: str, settings, episodes: int, device) -> list[Cell]:
    """The model shipped for `method`, scored like a run at every setting, with the steps and seconds its training
    recorded; none where it was trained on another dataset."""
    learner = load_pretrained(SHIPPED[method])
    record = learner.pretrained
    if record["dataset"]["name"] != dataset:
        return []
    task_source = load_saved_dataset(record["dataset"])
    history = record["history"]
    cells = []
    for ways, shots in settings:
        cell = Cell(
            f"{SHIPPED[method]} (shipped)",
            method,
            dataset,
            ways,
            shots,
            training_seconds=float(history["seconds"]),
            training_steps=int(history["val_step"][-1]),
            trained_ways=learner.ways,
        )
        measure(cell, learner, task_source, episodes=episodes, queries=15, seed=0, split="test", device=device)
        cells.append(cell)
    return cells


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-minutes", type=float, required=True, help="wall-clock budget of every training run")
    parser.add_argument("--datasets", nargs="+", default=["omniglot-small", "glyphs"])
    methods = [*TRAINED, *SHIPPED]
    parser.add_argument("--methods", nargs="+", default=methods, choices=methods)
    parser.add_argument("--settings", nargs="+", default=["5x1", "5x5", "20x1", "20x5"])
    parser.add_argument("--episodes", type=int, default=600, help="test tasks per setting (default 600)")
    parser.add_argument("--val-every", type=int, default=100, help="steps between validations (default 100)")
    parser.add_argument("--runs", default="runs/compare", help="folder for the run folders (default runs/compare)")
    parser.add_argument("--out", required=True, help="the markdown table; its .json and .png go beside it")
    parser.add_argument("--note", default="", help="a sentence printed under the table's protocol")
    parser.add_argument(
        "--score-only",
        action="store_true",
        help="score the run folders an earlier call left in --runs instead of training them again (after a scoring "
        "that stopped part way)",
    )
    arguments = parser.parse_args()
    if "finetune" in arguments.methods and "knn" not in arguments.methods:
        parser.error("finetune reuses the knn run's pretraining: list knn too")
    settings = [_setting(text) for text in arguments.settings]
    widths = sorted({ways for ways, _ in settings})
    use_shared_omniglot()
    runs = Path(arguments.runs)
    budget = ["--max-minutes", f"{arguments.max_minutes:g}"]
    validation = ["--val-every", str(arguments.val_every), "--val-episodes", "100", "--val-ways", "5"]
    folders = []
    for dataset in arguments.datasets:
        for method in [method for method in TRAINED if method in arguments.methods]:  # knn before finetune
            for name, recipe in planned_runs(dataset, method, widths):
                folder = runs / name
                if arguments.score_only:
                    if not folder.is_dir():
                        parser.error(f"--score-only: no run folder at {str(folder)!r}; train it first (drop the flag)")
                elif recipe is None:
                    shutil.rmtree(folder, ignore_errors=True)
                    shutil.copytree(runs / f"{dataset}-knn", folder)
                    _retag(folder, method)
                else:
                    command = ["train", "--method", method, "--dataset", dataset, *recipe, *budget, *validation]
                    run([*command, "--seed", "0", "--replace", "--out", str(folder)])
                folders.append(folder)
                print(f"{'found' if arguments.score_only else 'trained'} {folder}", flush=True)
    comparison = compare(folders, settings, episodes=arguments.episodes)  # each run on its own dataset's test tasks
    device = default_device(None)
    for dataset in arguments.datasets:
        for method in [method for method in SHIPPED if method in arguments.methods]:
            comparison.cells += shipped_cells(method, dataset, settings, arguments.episodes, device)
    drop_covered_gaps(comparison)
    check_same_tasks(comparison)
    comparison.command = "OMP_NUM_THREADS=1 python benchmarks/compare_all.py " + shlex.join(sys.argv[1:])
    comparison.note = arguments.note
    comparison.budget = f"each method's own recipe for {arguments.max_minutes:g} minutes of wall clock on one core" + (
        "; MANN and LSTM: the shipped models, at their recorded training time"
        if any(method in SHIPPED for method in arguments.methods)
        else ""
    )
    out = Path(arguments.out)
    write_comparison(comparison, out)
    save_accuracy_against_training_time(comparison, out.with_suffix(".png"))
    print(f"wrote {out}, {out.with_suffix('.json')} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    sys.exit(main())

"""The command line: `fewshot-lab` or `python -m fewshot_lab`."""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path

from fewshot_lab.data import holds_images, list_datasets
from fewshot_lab.data.augment import Augmentation

AUGMENTATIONS = {
    "none": None,
    "rotations": Augmentation(degrees=0, scale=0, shear=0, shift=0),
    "affine": Augmentation(rotations=False),
    "all": Augmentation(),
}


# options of some methods only, passed to build_learner when given (it refuses one the method does not take):
# name -> (type, help)
METHOD_OPTIONS = {
    "inner_steps": (int, "gradient steps of the inner loop (MAML family)"),
    "inner_lr": (float, "learning rate of the inner loop (MAML family)"),
    "instances": (int, "drawings of each class per training sequence (mann, lstm; default 10)"),
    "encoder": (str, "image encoder: pixels, conv or conv4 (mann, lstm; default pixels)"),
    "freeze_encoder": (bool, "keep the conv/conv4 encoder fixed, e.g. as pretrained by --init (mann, lstm)"),
    "add_vectors": (bool, "each memory head writes a separate add vector instead of its key (mann)"),
    "write_to_last": (
        bool,
        "each memory head may also write to the least-used slots the last step wrote to, to "
        "add the label that has just arrived to the image stored there (mann; not in the paper)",
    ),
    "hops": (int, "memory hops, each reading the story once more (memnet; default 3)"),
    "linear_start": (
        int,
        "training steps with linear attention, no softmax, before the softmax is put in: the paper's linear start "
        "(memnet; default 0)",
    ),
}


def _datasets(arguments) -> int:
    rows = list_datasets()
    if arguments.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        cached = {True: "cached", False: "not cached", None: "nothing to cache"}[row["cached"]]
        print(f"{row['name']:<{width}}  {cached:<16}  {row['size']:<22}  {row['description']}")
    return 0


def _train(arguments) -> int:
    import torch

    from fewshot_lab.backbones import default_device
    from fewshot_lab.checkpoints import read_checkpoint, refuse_taken_folder
    from fewshot_lab.data import load_dataset
    from fewshot_lab.engine import SettingsDiffer, TrainingPlan, meta_train, training_data
    from fewshot_lab.evaluation import describe_score, metric_of
    from fewshot_lab.methods import build_learner, learner_class
    from fewshot_lab.methods.recipes import choose_precision, recipe_for, training_defaults

    if arguments.out is None:  # runs/protonet-omniglot-small; a folder dataset by its folder's name
        arguments.out = str(Path("runs") / f"{arguments.method}-{Path(arguments.dataset).name}")
    if arguments.init is not None and arguments.resume:
        raise ValueError(
            "--init starts a new run from another run's embedding; --resume continues a run with its "
            "own weights: give one of them"
        )
    if arguments.resume and arguments.replace:
        raise ValueError(
            "--resume continues the run in --out; --replace deletes it to start a new one: give one of them"
        )
    if arguments.resume and not Path(arguments.out, "last.pt").is_file():
        raise FileNotFoundError(
            f"--resume continues the run saved in --out, but {arguments.out!r} holds no last.pt; "
            f"leave out --resume to start a new run there"
        )
    if not (arguments.resume or arguments.replace):  # before any work: the folder is someone else's
        refuse_taken_folder(arguments.out, "--resume", "--replace")
    options = {"image_size": arguments.image_size} if arguments.image_size else {}
    dataset = load_dataset(arguments.dataset, **options)
    regression, images = getattr(dataset, "is_regression", False), holds_images(dataset)
    if not images and arguments.augment not in (None, "none"):
        what = "is a regression problem" if regression else "has no images"
        raise ValueError(f"--augment {arguments.augment} transforms images; {dataset.name} {what}")
    taken = _settings_from_recipe(arguments, training_defaults(arguments.method, dataset))
    augment = AUGMENTATIONS[arguments.augment or ("all" if images else "none")]
    if arguments.augment_strength is not None:
        if augment is None or not augment.moves_images:
            raise ValueError(
                f"--augment-strength scales the affine moves of --augment affine or all; --augment "
                f"{arguments.augment or 'none'} makes none"
            )
        if not 0 <= arguments.augment_strength < augment.strength_limit:
            raise ValueError(
                f"--augment-strength must be at least 0 and below {augment.strength_limit:g} (where the "
                f"random zoom would reach 0), not {arguments.augment_strength:g}"
            )
        augment = augment.scaled(arguments.augment_strength)
    learner_options = {
        name: getattr(arguments, name) for name in METHOD_OPTIONS if getattr(arguments, name) is not None
    }
    if learner_options.get("freeze_encoder") and augment is not None and augment.moves_images:
        raise ValueError(
            f"--freeze-encoder trains on the codes of the drawings, computed once; --augment "
            f"{arguments.augment or 'all'} moves the images, which the codes cannot follow: "
            f"give --augment rotations or none"
        )
    method = learner_class(arguments.method)
    classes = training_data(dataset, augment, arguments.final).splits["train"] if images else []
    if images:
        _cap_ways(arguments, taken, dataset, classes)
    if method.pretrains_on_classes:  # its pretraining head covers every class the run learns from
        learner_options["train_classes"] = len(classes)
    if method.sized_by_ways:  # a classifier head of `ways` outputs
        learner_options["ways"] = 1 if regression else arguments.ways
    channels, size = dataset.image_shape[:2] if images else (1, 1)  # regression inputs: one number each
    backbone = arguments.backbone or (None if images else "mlp")  # None: the recipe's (conv4 unless it says)
    torch.manual_seed(arguments.seed)  # the initial weights too, so that a command gives the same run every time
    learner = build_learner(
        arguments.method, backbone=backbone, in_channels=channels, image_size=size, **learner_options
    )
    if arguments.precision == "auto" and arguments.resume:  # the run goes on as it began, on any machine
        plan = read_checkpoint(Path(arguments.out, "last.pt"))["training"]["plan"]
        arguments.precision, why = TrainingPlan(**plan).precision, "the run's own: --resume continues it as it began"
    elif arguments.precision == "auto":
        arguments.precision, why = choose_precision(
            arguments.method, default_device(arguments.device), dataset, {**learner_options, "backbone": backbone}
        )
    else:
        why = "given"
    test_views = recipe_for(arguments.method).test_views if images and learner.compares_embeddings else 0
    _say_recipe(arguments, taken, recipe_for(arguments.method), test_views, why)
    if arguments.init is not None:
        from fewshot_lab.saved import copy_embedding

        copy_embedding(learner, arguments.init)
    steps = arguments.steps
    if steps is None and arguments.max_minutes is None:
        steps = 1000
    try:
        history = meta_train(
            learner,
            dataset,
            ways=arguments.ways,
            shots=arguments.shots,
            queries=arguments.queries,
            meta_batch=arguments.meta_batch,
            steps=steps,
            max_minutes=arguments.max_minutes,
            lr=arguments.lr,
            val_every=arguments.val_every,
            val_episodes=arguments.val_episodes,
            val_ways=arguments.val_ways,
            seed=arguments.seed,
            augment=augment,
            out=arguments.out,
            resume=arguments.resume,
            device=arguments.device,
            final=arguments.final,
            precision=arguments.precision,
            test_views=test_views,
            replace=arguments.replace,
        )
    except SettingsDiffer as differ:
        listed = "; ".join(
            f"{_as_flag(name, given)} (the run has {_as_flag(name, saved)})"
            for name, given, saved in differ.differences
        )
        raise ValueError(
            f"the run in {arguments.out!r} was started with other settings, and --resume continues it "
            f"unchanged: {listed}. Give the run's own settings (only --steps and --max-minutes may "
            f"change), or --replace to start a new run there"
        ) from None
    best = describe_score(metric_of(dataset), history.best_val_accuracy)
    kept = (
        "final run on the train and val classes, no meta-validation; the last weights are kept"
        if arguments.final
        else f"best meta-validation {best} at step {history.best_step}"
    )
    print(
        f"trained {arguments.method} for {history.step[-1] if history.step else 0} steps in {history.seconds:.0f} s; "
        f"{kept}; saved in {arguments.out}"
    )
    return 0


TASK_SETTINGS = ("ways", "shots", "queries", "meta_batch", "lr", "val_every", "val_episodes", "val_ways", "augment")


def _settings_from_recipe(arguments, recipe: dict) -> dict:
    """Fill each training setting not given on the command line from the method's recipe, else from meta_train's
    defaults (augment: None, which train reads as the dataset's default). Returns the settings taken from the recipe,
    {"ways": 20, ...}."""
    from fewshot_lab.engine import TrainingPlan

    fallback, taken = TrainingPlan(), {}
    for name in TASK_SETTINGS:
        if getattr(arguments, name) is None:
            if name in recipe:
                taken[name] = recipe[name]
            setattr(arguments, name, recipe.get(name, getattr(fallback, name)))
    return taken


def _cap_ways(arguments, taken: dict, dataset, classes: list):
    """A recipe's ways capped at the classes a small dataset has (20-way training on a folder of 8 classes: 8)."""
    if "ways" in taken and arguments.ways > len(classes):
        arguments.ways = taken["ways"] = len(classes)
    val_classes = len(dataset.splits["val"])
    if "val_ways" in taken and 1 < val_classes < arguments.val_ways:
        arguments.val_ways = taken["val_ways"] = val_classes


def _say_recipe(arguments, taken: dict, recipe, test_views: int, why: str):
    """One line on what the run takes from its method's recipe, one on its precision and why."""
    options = {name: value for name, value in recipe.learner.items() if getattr(arguments, name, None) is None}
    flags = [f"--{name.replace('_', '-')} {value}" for name, value in {**taken, **options}.items()]
    said = " ".join(flags) + (f"; evaluated with --shifted-views {test_views}" if test_views else "")
    if said:
        print(f"{arguments.method}'s recipe ({recipe.evidence}): {said}")
    print(f"precision {arguments.precision} ({why})")


def _as_flag(setting: str, value) -> str:
    """A training plan's setting as the train flags that give it, e.g. ("val_ways", 3) -> "--val-ways 3"."""
    flag = "--" + setting.replace("_", "-")
    if setting == "final":
        return flag if value else f"no {flag}"
    if setting == "augment":
        named = [
            name
            for name, augmentation in AUGMENTATIONS.items()
            if (asdict(augmentation) if augmentation is not None else None) == value
        ]
        return f"--augment {named[0]}" if named else f"--augment with --augment-strength ({value})"
    return f"{flag} {value if value is not None else '(not given)'}"


def _finite_or_null(value):
    """A JSON-ready copy of `value` with every nan or infinity as null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_or_null(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite_or_null(item) for item in value]
    return value


def _evaluate(arguments) -> int:
    from fewshot_lab.data import load_saved_dataset
    from fewshot_lab.evaluation import accuracy_by_presentation, evaluate
    from fewshot_lab.methods import METHODS
    from fewshot_lab.saved import load

    saved = load(arguments.run, checkpoint=arguments.checkpoint, device=arguments.device)
    if arguments.inner_steps is not None:
        if not saved.learner.takes_test_inner_steps:
            raise ValueError(f"--inner-steps applies to the MAML family, not to a {saved.learner.method} learner")
        if arguments.inner_steps < 0:
            raise ValueError(f"--inner-steps must be 0 or more, got {arguments.inner_steps}")
        saved.learner.test_inner_steps = arguments.inner_steps
    if arguments.shifted_views is not None:
        if arguments.shifted_views < 0:
            raise ValueError(f"--shifted-views must be 0 (none) or more pixels, got {arguments.shifted_views}")
        if arguments.shifted_views and not saved.learner.compares_embeddings:
            metric = ", ".join(name for name, learner in METHODS.items() if learner.compares_embeddings)
            raise ValueError(
                f"--shifted-views averages the embedding of a metric learner ({metric}), "
                f"not of a {saved.learner.method} learner"
            )
    views = saved.use_test_views(arguments.shifted_views)
    choices = _evaluation_choices(saved, views, arguments)
    dataset = load_saved_dataset(saved.dataset, arguments.dataset)
    # a run of generated tasks is tested on tasks of its own shape unless told otherwise (a copy run on its longest
    # training sequences, a stories run on its stories); image tasks default to 5-way 1-shot with 15 queries
    own = (saved.training or {}).get("plan", {}) if saved.learner.task_family else {}
    result = evaluate(
        saved.learner,
        dataset,
        ways=arguments.ways,
        shots=arguments.shots if arguments.shots is not None else own.get("shots", 1),
        queries=arguments.queries if arguments.queries is not None else own.get("queries", 15),
        episodes=arguments.episodes,
        split=arguments.split,
        within_alphabet=arguments.within_alphabet,
        seed=arguments.seed,
    )
    if not math.isfinite(result.mean):
        raise ValueError(
            f"the {saved.learner.method} learner in {arguments.run!r} scores {result.mean} on these "
            f"tasks: its outputs are not finite numbers (a run that diverged?)"
        )
    by_presentation = None
    if saved.learner.reads_sequences:  # Santoro et al.'s table
        by_presentation = accuracy_by_presentation(
            saved.learner,
            dataset,
            ways=arguments.ways,
            episodes=arguments.episodes,
            split=arguments.split,
            seed=arguments.seed,
        )
    if arguments.json:
        extra = {"by_presentation": by_presentation.to_dict()} if by_presentation is not None else {}
        extra["evaluation_choices"] = choices
        print(
            json.dumps(
                _finite_or_null(
                    {"method": saved.learner.method, "run": str(arguments.run), **result.to_dict(), **extra}
                ),
                allow_nan=False,
            )
        )
    else:
        print(f"{saved.learner.method}: {result}")
        if choices:
            print("evaluated with " + "; ".join(f"{name} {value}" for name, value in choices.items()))
        if by_presentation is not None:
            print(by_presentation)
    return 0


def _evaluation_choices(saved, views: int, arguments) -> dict:
    """The evaluation choices in force, with whose they are: {"shifted views": "1 pixel (the run's own; ...)"}."""
    choices = {}
    if saved.learner.compares_embeddings:
        whose = "given" if arguments.shifted_views is not None else "the run's own choice"
        if views and arguments.shifted_views is None:
            whose += "; --shifted-views 0 for none"
        choices["shifted views"] = f"{views} pixel{'s' if views != 1 else ''} ({whose})" if views else f"none ({whose})"
    if saved.learner.takes_test_inner_steps:
        whose = "given" if arguments.inner_steps is not None else "as trained"
        choices["inner steps"] = f"{saved.learner.steps()} ({whose})"
    return choices


def _compare(arguments) -> int:
    from fewshot_lab.compare.scoring import compare
    from fewshot_lab.compare.table import merge_comparisons, read_comparison, write_comparison
    from fewshot_lab.lessons.compare import save_accuracy_against_training_time

    if arguments.from_results and arguments.runs:
        raise ValueError("give run folders to evaluate, or --from-results to rebuild the table, not both")
    if arguments.from_results:
        comparison = merge_comparisons(read_comparison(path) for path in arguments.from_results)
    else:
        settings = [_setting(text) for text in arguments.settings]
        comparison = compare(
            arguments.runs,
            settings,
            dataset=arguments.dataset,
            episodes=arguments.episodes,
            queries=arguments.queries,
            seed=arguments.seed,
            device=arguments.device,
        )
    if arguments.note is not None:
        comparison.note = arguments.note
    table, record = write_comparison(comparison, arguments.out)
    written = [str(table), str(record)]
    if arguments.figure:
        written.append(str(save_accuracy_against_training_time(comparison, arguments.figure)))
    print(f"compared {len(dict.fromkeys(cell.run for cell in comparison.cells))} runs; wrote {', '.join(written)}")
    return 0


def _setting(text: str) -> tuple[int, int]:
    ways, _, shots = text.partition("x")
    if not (ways.isdigit() and shots.isdigit()):
        raise ValueError(f"a setting is WAYSxSHOTS, such as 5x1 or 20x5; got {text!r}")
    return int(ways), int(shots)


RECIPE_NOTE = "; the method's recipe may say otherwise: fewshot_lab.methods.recipes"


def _task_arguments(parser, ways=5, shots=1, queries=15, defaults_note="", from_recipe=False):
    """--ways, --shots, --queries (shown with these defaults; from_recipe: left None for the method's recipe to
    fill), --seed and --device."""
    ways_note, note = (RECIPE_NOTE, defaults_note + RECIPE_NOTE) if from_recipe else ("", defaults_note)
    parser.add_argument(
        "--ways", type=int, default=None if from_recipe else ways, help=f"classes per task (default {ways}{ways_note})"
    )
    parser.add_argument(
        "--shots",
        type=int,
        default=None if from_recipe else shots,
        help=f"support images per class; the sequence length for copy, sentences per story for babi-1 and babi-2 "
        f"(default {shots}{note})",
    )
    parser.add_argument(
        "--queries",
        type=int,
        default=None if from_recipe else queries,
        help=f"query images per class; questions per story for babi-1 and babi-2, not used by copy "
        f"(default {queries}{note})",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fewshot-lab", description="fewshot_lab: meta-learning by running it.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    datasets = commands.add_parser(
        "datasets",
        help="list the datasets, their sizes and whether each is cached",
        description="List the datasets, their sizes and whether each is cached "
        "(in $FEWSHOT_LAB_DATA, default ~/.cache/fewshot_lab).",
    )
    datasets.add_argument("--json", action="store_true", help="print JSON for machines")
    datasets.set_defaults(handler=_datasets)

    from fewshot_lab.backbones import BACKBONES, PRECISIONS
    from fewshot_lab.methods import METHODS

    train = commands.add_parser(
        "train",
        help="meta-train a learner and save it in a run folder",
        description="Meta-train a learner on the train split of a dataset, validating on its "
        "val split; the best and the latest checkpoints go to --out.",
    )
    train.add_argument("--method", required=True, choices=sorted(METHODS))
    train.add_argument(
        "--dataset", default="glyphs", help="a dataset name or a folder of class folders (default glyphs)"
    )
    train.add_argument(
        "--backbone",
        default=None,
        choices=sorted(BACKBONES),
        help="embedding network (default: the method's recipe, conv4 unless it says; mlp for datasets without images)",
    )
    train.add_argument("--image-size", type=int, default=None, help="image side in pixels (default: the dataset's, 28)")
    _task_arguments(train, ways=5, shots=1, queries=15, from_recipe=True)
    budget = train.add_argument_group("budget (give --steps, --max-minutes or both; default 1000 steps)")
    budget.add_argument("--steps", type=int, default=None, help="optimiser steps")
    budget.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget in minutes")
    train.add_argument(
        "--meta-batch", type=int, default=None, help=f"tasks per optimiser step (default 1{RECIPE_NOTE})"
    )
    train.add_argument(
        "--lr", type=float, default=None, help=f"Adam learning rate, cosine-annealed (default 0.001{RECIPE_NOTE})"
    )
    train.add_argument(
        "--val-every", type=int, default=None, help=f"steps between validations (default 250{RECIPE_NOTE})"
    )
    train.add_argument(
        "--val-episodes", type=int, default=None, help=f"val tasks per validation (default 100{RECIPE_NOTE})"
    )
    train.add_argument(
        "--val-ways", type=int, default=None, help=f"ways of the val tasks (default --ways{RECIPE_NOTE})"
    )
    train.add_argument(
        "--augment",
        default=None,
        choices=sorted(AUGMENTATIONS),
        help="training-only augmentation of images: rotated copies of the meta-train classes as new "
        "classes, small random affine moves of each image, all (both, the default unless the method's recipe "
        "says) or none (the default for datasets without images)",
    )
    train.add_argument(
        "--augment-strength",
        type=float,
        default=None,
        metavar="S",
        help="multiply the ranges of the affine moves (10 degrees of rotation, 10%% zoom, 0.1 shear, "
        "8%% shift either way) by S (default 1; 0 turns them off)",
    )
    method_options = train.add_argument_group("method options (only for the methods that take them)")
    for name, (kind, help_text) in METHOD_OPTIONS.items():
        kind_or_flag = {"action": "store_true"} if kind is bool else {"type": kind}
        method_options.add_argument("--" + name.replace("_", "-"), default=None, help=help_text, **kind_or_flag)
    train.add_argument(
        "--final",
        action="store_true",
        help="the final run of a recipe chosen on meta-validation: train on the train and val classes "
        "together, validate nothing, keep the last weights (the test classes stay unseen)",
    )
    train.add_argument(
        "--precision",
        default="auto",
        choices=["auto", *PRECISIONS],
        help="bf16 runs the backbone's training forward passes in bfloat16 (about twice the steps "
        "per minute on CPUs with bfloat16 units; measure yours with benchmarks/precision.py); "
        "MAML's inner loop, weights, validation and checkpoints stay float32. auto (the default): bf16 where the "
        "CPU has bfloat16 units and the method's recipe measured it faster at the same validation accuracy (for the "
        "recipe's data and learner settings), else fp32; with --resume, the run's own",
    )
    train.add_argument("--out", default=None, help="run folder for checkpoints (default runs/METHOD-DATASET)")
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the run saved in --out, with the same settings (--steps and --max-minutes may grow)",
    )
    train.add_argument(
        "--replace",
        action="store_true",
        help="delete the run saved in --out (its checkpoints) and start this one there; without it, "
        "a folder holding a run is refused",
    )
    train.add_argument(
        "--init",
        default=None,
        metavar="RUN",
        help="start the embedding from that of a saved run with the same backbone, e.g. a knn run's "
        "pretrained one (pretrain, then meta-train)",
    )
    train.set_defaults(handler=_train)

    evaluation = commands.add_parser(
        "evaluate",
        help="score a saved learner on seeded test tasks",
        description="Score a saved learner on seeded tasks of a dataset's split: "
        "accuracy with its 95% confidence interval.",
    )
    evaluation.add_argument("run", help="a run folder written by train (or a checkpoint file)")
    evaluation.add_argument("--dataset", default=None, help="dataset to test on (default: the one it was trained on)")
    _task_arguments(
        evaluation, ways=5, shots=None, queries=None, defaults_note="; for a run of copy or stories, its own"
    )
    evaluation.add_argument("--episodes", type=int, default=600, help="test tasks (default 600)")
    evaluation.add_argument("--split", default="test", choices=["train", "val", "test"], help="(default test)")
    evaluation.add_argument("--within-alphabet", action="store_true", help="all ways of a task from one alphabet")
    evaluation.add_argument("--checkpoint", default="best", choices=["best", "last"], help="(default best)")
    evaluation.add_argument(
        "--inner-steps",
        type=int,
        default=None,
        help="gradient steps when adapting to a task (MAML family; default: as trained)",
    )
    evaluation.add_argument(
        "--shifted-views",
        type=int,
        default=None,
        metavar="PIXELS",
        help="test-time augmentation of protonet, matching and knn: embed every support and query "
        "image as the mean of 9 copies shifted by PIXELS (default: the run's own choice, from its method's recipe; "
        "0 for none)",
    )
    evaluation.add_argument("--json", action="store_true", help="print JSON for machines")
    evaluation.set_defaults(handler=_evaluate)

    comparison = commands.add_parser(
        "compare",
        help="score several saved runs on the same seeded test tasks",
        description="Score run folders on identical seeded test tasks at each setting: "
        "accuracy (95% CI), meta-training time, adaptation time per task "
        "and peak memory; writes a markdown table and its JSON record.",
    )
    comparison.add_argument("runs", nargs="*", help="run folders written by train")
    comparison.add_argument(
        "--from-results",
        nargs="+",
        default=None,
        metavar="JSON",
        help="rebuild the table (and figure) from recorded comparisons instead of evaluating; "
        "several made with the same protocol (one per dataset, say) become one table",
    )
    comparison.add_argument(
        "--settings",
        nargs="+",
        default=["5x1", "5x5", "20x1", "20x5"],
        metavar="WAYSxSHOTS",
        help="ways and shots of the test tasks (default 5x1 5x5 20x1 20x5)",
    )
    comparison.add_argument("--dataset", default=None, help="dataset to test on (default: each run's own)")
    comparison.add_argument("--episodes", type=int, default=600, help="test tasks per setting (default 600)")
    comparison.add_argument("--queries", type=int, default=15, help="query images per class (default 15)")
    comparison.add_argument("--seed", type=int, default=0, help="seed of the test tasks (default 0)")
    comparison.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    comparison.add_argument("--out", required=True, help="markdown table to write (.md); the JSON goes beside it")
    comparison.add_argument("--figure", default=None, help="also draw accuracy against meta-training time (.png)")
    comparison.add_argument(
        "--note", default=None, help="a sentence printed under the table's protocol (kept in the JSON)"
    )
    comparison.set_defaults(handler=_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help()
        return 2
    try:
        return arguments.handler(arguments)
    except (ValueError, TypeError, FileNotFoundError, OSError) as error:  # the caller's mistake: say it plainly
        print(f"fewshot-lab {arguments.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

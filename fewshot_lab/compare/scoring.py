"""Score saved runs on the same seeded test tasks, at every setting (fewshot_lab.compare explains the columns)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fewshot_lab.backbones import default_device
from fewshot_lab.checkpoints import read_run
from fewshot_lab.compare.measurement import MEMORY_NOTE, PeakMemory, TimedLearner, hardware
from fewshot_lab.compare.table import Cell, Comparison, check_same_tasks
from fewshot_lab.data import load_saved_dataset
from fewshot_lab.data.tasks import check_seed
from fewshot_lab.evaluation import check_protocol, evaluate

SETTINGS = ((5, 1), (5, 5), (20, 1), (20, 5))


def run_record(folder) -> dict:
    """The last checkpoint of a run folder (its training history lives there), or a clear error; a folder whose
    best.pt (the weights scored) is not the best checkpoint last.pt records is refused."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no run folder at {str(folder)!r}: give folders written by `fewshot-lab train --out`")
    return read_run(folder)[1]


def compare(
    runs,
    settings=SETTINGS,
    *,
    dataset: str | None = None,
    episodes: int = 600,
    queries: int = 15,
    seed: int = 0,
    split: str = "test",
    device=None,
) -> Comparison:
    """Score every run folder at every (ways, shots) setting on the same seeded tasks of its dataset (or of
    `dataset` for all). Every folder is checked before any scoring starts."""
    from fewshot_lab.methods import learner_class
    from fewshot_lab.saved import load

    runs = [Path(run) for run in runs]
    if not runs:
        raise ValueError("give at least one run folder to compare")
    settings = [(int(ways), int(shots)) for ways, shots in settings]
    check_protocol(episodes, queries)  # before any run is scored: a cell refusing them would only say n/a
    check_seed(seed)
    refused = [f"{ways}x{shots}" for ways, shots in settings if ways < 2 or shots < 1]
    if refused:
        raise ValueError(f"a setting needs at least 2 ways and 1 shot, got {', '.join(refused)}")
    records = [run_record(run) for run in runs]
    generated = [
        f"{run} ({record['method']})"
        for run, record in zip(runs, records)
        if learner_class(record["method"]).task_family
    ]
    if generated:
        raise ValueError(
            f"compare scores classifiers at WAYSxSHOTS settings; {', '.join(generated)} learned generated tasks (the "
            f"copy task, stories), which have no ways: score them with fewshot-lab evaluate"
        )
    device = default_device(device)
    datasets = {}
    comparison = Comparison(
        episodes=episodes,
        queries=queries,
        seed=seed,
        split=split,
        device=device.type,
        hardware=hardware(device),
        memory=MEMORY_NOTE[device.type],
    )
    for run, record in zip(runs, records):
        key = dataset or record["dataset"]["name"]
        if key not in datasets:
            datasets[key] = load_saved_dataset(record["dataset"], dataset)
        saved = load(run, device=device)
        saved.use_test_views()  # each run scored as it chose to be (its recipe's test-time views)
        learner = saved.learner
        training = record.get("training") or {}
        history = training.get("history") or {}
        for ways, shots in settings:
            cell = Cell(
                str(run.name),
                learner.method,
                datasets[key].name,
                ways,
                shots,
                training_seconds=float(history.get("seconds", math.nan)),
                training_steps=int((history.get("step") or [0])[-1]),
                trained_ways=int((training.get("plan") or {}).get("ways") or 0),
            )
            measure(
                cell, learner, datasets[key], episodes=episodes, queries=queries, seed=seed, split=split, device=device
            )
            comparison.cells.append(cell)
    drop_covered_gaps(comparison)
    check_same_tasks(comparison)
    return comparison


def drop_covered_gaps(comparison: Comparison) -> None:
    """Remove the n/a cells that another run of the same method fills: a method whose model has a fixed number
    of outputs (a MAML-family head) is trained once per number of ways, and the 5-way run's n/a at 20 ways
    would only repeat what the 20-way run's row answers. An n/a that no run of its method fills stays."""
    scored = {(cell.dataset, cell.method, cell.ways, cell.shots) for cell in comparison.cells if not cell.skipped}
    comparison.cells = [
        cell
        for cell in comparison.cells
        if not (cell.skipped and (cell.dataset, cell.method, cell.ways, cell.shots) in scored)
    ]


def measure(cell: Cell, learner, dataset, *, episodes: int, queries: int, seed: int, split: str, device):
    """Fill in `cell`: score `learner` through evaluate, timing each task and watching memory."""
    timed = TimedLearner(learner)
    with PeakMemory(device) as memory:
        try:
            result = evaluate(
                timed,
                dataset,
                ways=cell.ways,
                shots=cell.shots,
                queries=queries,
                episodes=episodes,
                split=split,
                seed=seed,
                device=device,
            )
        except ValueError as error:  # this learner cannot take tasks of this shape (a head or memory too small)
            cell.skipped = str(error).split(":")[0]
            return
    cell.accuracy, cell.ci95 = result.mean, result.ci95
    cell.adapt_ms = 1000 * float(np.median(timed.seconds))
    cell.peak_memory_mb = memory.peak_mb
    cell.tasks_fingerprint = timed.fingerprint.hexdigest()

"""Every method on the same seeded test tasks: accuracy, meta-training time, adaptation time, peak memory.

    comparison = compare(["runs/protonet", "runs/maml"], settings=[(5, 1), (5, 5), (20, 1), (20, 5)])
    write_comparison(comparison, "results/compare.md")   # and results/compare.json beside it
    fewshot-lab compare runs/protonet runs/maml --out results/compare.md
    fewshot-lab compare --from-results results/compare.json --out results/compare.md   # rebuild the table

Each run folder (written by `fewshot-lab train --out`) is scored with fewshot_lab.evaluation.evaluate, whose
tasks depend only on the dataset, the split, the ways, shots, queries and the seed: every method meets the
same classes and the same images. compare checks it: it fingerprints the tasks each method was given
(a hash of every support and query tensor) and refuses a table whose methods saw different tasks.
A run that cannot take a setting (a 5-way head given 20-way tasks) shows n/a there, unless another run of
the same method (the same method trained at 20 ways) is scored at that setting: then its row says it all.

What each column measures:
- accuracy: mean over the tasks with its 95% confidence interval (fewshot_lab.evaluation).
- meta-training time: `history.seconds` of the run's last checkpoint, as recorded while training (on
  whatever machine and load it ran; the table says so).
- adaptation time per task: the median over tasks of adapt(support) + scoring the queries, in milliseconds.
- peak memory: on CUDA, torch.cuda.max_memory_allocated above what was allocated before the evaluation; on a
  CPU, the peak resident set size of the process above its value before the evaluation (after handing the C
  allocator's free memory back with glibc's malloc_trim, so that reused memory counts), sampled every 2 ms
  from /proc/self/statm (Linux; nan elsewhere). The CPU figure is coarse (a few MB), but it orders methods
  that keep a graph or a memory against those that do not.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import math
import os
import platform
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from fewshot_lab.checkpoints import read_run
from fewshot_lab.data.tasks import check_seed
from fewshot_lab.evaluation import check_protocol, evaluate
from fewshot_lab.paths import atomic_path

SETTINGS = ((5, 1), (5, 5), (20, 1), (20, 5))
FORMAT = "fewshot_lab-comparison-1"


@dataclass
class Cell:
    """One run at one setting (ways, shots): what the table shows, or why it shows nothing."""

    run: str
    method: str
    dataset: str
    ways: int
    shots: int
    accuracy: float = math.nan
    ci95: float = math.nan
    training_seconds: float = math.nan
    training_steps: int = 0
    trained_ways: int = 0  # ways of the tasks the run was meta-trained on (0: not recorded)
    adapt_ms: float = math.nan  # median adapt + predict time per task, milliseconds
    peak_memory_mb: float = math.nan  # see the module docstring for how it is measured
    tasks_fingerprint: str = ""  # a hash of every task the run was scored on
    skipped: str = ""  # why this run cannot be scored at this setting (e.g. a 5-way head)


@dataclass
class Comparison:
    cells: list = field(default_factory=list)
    episodes: int = 600
    queries: int = 15
    seed: int = 0
    split: str = "test"
    device: str = "cpu"
    hardware: str = ""
    memory: str = ""
    command: str = ""
    note: str = ""  # what a reader must know, e.g. that a table is a short version of the full run

    def to_dict(self) -> dict:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, record: dict) -> Comparison:
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise ValueError(f"not a fewshot_lab comparison (expected format {FORMAT!r})")
        values = {name: value for name, value in record.items() if name != "format"}
        values["cells"] = [Cell(**cell) for cell in values["cells"]]
        return cls(**values)


def run_record(folder) -> dict:
    """The last checkpoint of a run folder (its training history lives there), or a clear error; a folder whose
    best.pt (the weights scored) is not the best checkpoint last.pt records is refused."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no run folder at {str(folder)!r}: give folders written by `fewshot-lab train --out`")
    return read_run(folder)[1]


def load_run_dataset(record: dict, name: str | None = None):
    """The dataset a run was trained on (with its preprocessing), or the dataset `name`."""
    from fewshot_lab.data import load_dataset

    saved = record["dataset"]
    name = name or saved["name"]
    options = {}
    if "preprocessing" in saved and name == saved["name"]:
        options["image_size"] = saved["preprocessing"]["image_size"]
    return load_dataset(name, **options)


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
    device = (
        torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
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
            datasets[key] = load_run_dataset(record, dataset)
        learner = load(run, device=device).learner
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


def check_same_tasks(comparison: Comparison):
    """Refuse a comparison in which two runs of one dataset and setting were scored on different tasks."""
    seen = {}
    for cell in comparison.cells:
        if cell.skipped:
            continue
        key = (cell.dataset, cell.ways, cell.shots)
        first = seen.setdefault(key, cell)
        if cell.tasks_fingerprint != first.tasks_fingerprint:
            raise RuntimeError(
                f"{cell.run} and {first.run} were scored on different {cell.ways}-way {cell.shots}-shot "
                f"tasks of {cell.dataset}: the comparison would not be fair"
            )


class TimedLearner:
    """A learner seen through evaluate: times adapt + scoring per task and fingerprints every task it is given."""

    def __init__(self, learner):
        self.learner = learner
        self.adapts_with_gradients = getattr(learner, "adapts_with_gradients", False)
        self.training = False
        self.seconds: list[float] = []
        self.fingerprint = hashlib.blake2b(digest_size=16)

    def eval(self):
        self.learner.eval()

    def train(self):
        self.learner.train()

    def parameters(self):
        return self.learner.parameters()

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        for tensor in (support_x, support_y):
            self.fingerprint.update(tensor.detach().cpu().numpy().tobytes())
        start = time.perf_counter()
        task_model = self.learner.adapt(support_x, support_y)

        def scores(query_x: torch.Tensor) -> torch.Tensor:
            self.fingerprint.update(query_x.detach().cpu().numpy().tobytes())
            start_query = time.perf_counter()
            result = task_model(query_x)
            _synchronise(result.device)
            self.seconds.append(time.perf_counter() - start_query + adapted)
            return result

        _synchronise(support_x.device)
        adapted = time.perf_counter() - start
        return scores


def _synchronise(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


MEMORY_NOTE = {
    "cuda": "peak CUDA memory allocated during the evaluation, above what was allocated before it "
    "(torch.cuda.max_memory_allocated)",
    "cpu": "peak resident set size of the process during the evaluation, above its value before it (after glibc's "
    "malloc_trim), sampled every 2 ms from /proc/self/statm (coarse: a few MB)",
}


class PeakMemory:
    """How much memory a block used at its peak, in MB (see MEMORY_NOTE)."""

    def __init__(self, device: torch.device):
        self.device, self.peak_mb = torch.device(device), math.nan

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
        elif _resident_bytes() is not None:
            _return_free_memory()
            self.start = self.peak = _resident_bytes()
            self.stop = threading.Event()
            self.sampler = threading.Thread(target=self._sample, daemon=True)
            self.sampler.start()
        return self

    def _sample(self):
        while not self.stop.wait(0.002):
            self.peak = max(self.peak, _resident_bytes())

    def __exit__(self, *error):
        if self.device.type == "cuda":
            self.peak_mb = (torch.cuda.max_memory_allocated(self.device) - self.start) / 2**20
        elif hasattr(self, "sampler"):
            self.stop.set()
            self.sampler.join()
            self.peak_mb = (max(self.peak, _resident_bytes()) - self.start) / 2**20
        return False


def _return_free_memory():
    """Hand the C allocator's free memory back to the system (glibc's malloc_trim), so that memory a block reuses
    shows as growth of the resident set rather than hiding in what earlier blocks freed."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def hardware(device: torch.device) -> str:
    where = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
    )
    return f"{where}; torch {torch.__version__}, python {platform.python_version()}"


# ---- the table ----------------------------------------------------------------------------------------------


def _cell_text(cell: Cell) -> list[str]:
    if cell.skipped:
        return [f"n/a ({cell.skipped})", "", ""]
    return [f"{100 * cell.accuracy:.1f} ± {100 * cell.ci95:.1f}", f"{cell.adapt_ms:.1f}", f"{cell.peak_memory_mb:.0f}"]


def markdown_table(comparison: Comparison) -> str:
    """The comparison as markdown: one table per dataset, a row per run and setting."""
    lines = [
        f"Protocol: {comparison.split} split, {comparison.queries} queries per class, {comparison.episodes} "
        f"tasks, seed {comparison.seed}, identical tasks for every method (checked by fingerprint); "
        f"accuracy in % with its 95% CI.  ",
        f"Evaluated on: {comparison.hardware} ({comparison.device}).  ",
        f"Adaptation time: median per task of adapt + scoring the queries. Peak memory: {comparison.memory}. "
        f"Meta-training time: as recorded in each run's history, on the machine and load it was trained on.  ",
    ]
    if comparison.command:
        lines.append(f"Command: `{comparison.command}`  ")
    if comparison.note:
        lines.append(f"Note: {comparison.note}  ")
    for dataset in dict.fromkeys(cell.dataset for cell in comparison.cells):
        lines += [
            "",
            f"## {dataset}",
            "",
            "| run | method | meta-training | setting | accuracy (%) | adaptation (ms/task) | peak memory (MB) |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for cell in comparison.cells:
            if cell.dataset != dataset:
                continue
            training = f"{cell.training_steps} steps, {cell.training_seconds:.0f} s"
            lines.append(
                f"| {cell.run} | {cell.method} | {training} | {cell.ways}-way {cell.shots}-shot | "
                + " | ".join(_cell_text(cell))
                + " |"
            )
    return "\n".join(lines) + "\n"


def write_comparison(comparison: Comparison, out) -> tuple[Path, Path]:
    """Write the markdown table to `out` and the JSON record beside it (same name, .json), each atomically."""
    out = Path(out)
    if out.suffix != ".md":
        raise ValueError(f"--out names the markdown table and must end in .md, got {str(out)!r}")
    record_path = out.with_suffix(".json")
    with atomic_path(record_path) as temporary:
        temporary.write_text(json.dumps(comparison.to_dict(), indent=1, allow_nan=True))
    with atomic_path(out) as temporary:
        temporary.write_text(markdown_table(comparison))
    return out, record_path


def read_comparison(path) -> Comparison:
    """A comparison recorded as JSON by write_comparison (the table is rebuilt from it)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no comparison record at {str(path)!r}")
    try:
        record = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{str(path)!r} is not JSON ({type(error).__name__})") from None
    return Comparison.from_dict(record)


def merge_comparisons(comparisons) -> Comparison:
    """One comparison from several made with the same protocol (e.g. one per dataset, run side by side): the
    cells in order, the commands joined by "; " (run in turn they remake every part). Refused, with the field
    named, when the protocols differ, or when one run name appears twice for one dataset."""
    comparisons = list(comparisons)
    if not comparisons:
        raise ValueError("give at least one comparison to merge")
    first = comparisons[0]
    for other in comparisons[1:]:
        for name in ("episodes", "queries", "seed", "split", "device"):
            if getattr(other, name) != getattr(first, name):
                raise ValueError(
                    f"these comparisons used different protocols: {name} is {getattr(first, name)!r} "
                    f"in one and {getattr(other, name)!r} in another; merge only tables made alike"
                )
    merged = Comparison(
        episodes=first.episodes,
        queries=first.queries,
        seed=first.seed,
        split=first.split,
        device=first.device,
        memory=first.memory,
        hardware="; ".join(dict.fromkeys(part.hardware for part in comparisons if part.hardware)),
        command="; ".join(dict.fromkeys(part.command for part in comparisons if part.command)),
        note=" ".join(dict.fromkeys(part.note for part in comparisons if part.note)),
    )
    seen = set()
    for part in comparisons:
        for cell in part.cells:
            key = (cell.dataset, cell.run, cell.ways, cell.shots)
            if key in seen:
                raise ValueError(
                    f"run {cell.run!r} of {cell.dataset} appears in two of these comparisons at "
                    f"{cell.ways}-way {cell.shots}-shot: merge tables of different runs"
                )
            seen.add(key)
            merged.cells.append(cell)
    check_same_tasks(merged)
    return merged

"""A comparison's record (a cell per run and setting), its JSON file and its markdown table (fewshot_lab.compare)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fewshot_lab.paths import atomic_path

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
    budget: str = ""  # the meta-training each method had, e.g. its own recipe for 2.5 minutes on one core

    def to_dict(self) -> dict:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, record: dict) -> Comparison:
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise ValueError(f"not a fewshot_lab comparison (expected format {FORMAT!r})")
        values = {name: value for name, value in record.items() if name != "format"}
        values["cells"] = [Cell(**cell) for cell in values["cells"]]
        return cls(**values)


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


def _cell_text(cell: Cell) -> list[str]:
    if cell.skipped:
        return [f"n/a ({cell.skipped})", "", ""]
    return [f"{100 * cell.accuracy:.1f} ± {100 * cell.ci95:.1f}", f"{cell.adapt_ms:.1f}", f"{cell.peak_memory_mb:.0f}"]


def markdown_table(comparison: Comparison, details: bool = True) -> str:
    """The comparison as markdown: one table per dataset, a row per run and setting.

    details=False leaves out how it was measured and made (hardware, memory sampling, command, note) and keeps
    the protocol: the short form a lesson shows beside its own explanation."""
    lines = [
        f"Protocol: {comparison.split} split, {comparison.queries} queries per class, {comparison.episodes} "
        f"tasks, seed {comparison.seed}, identical tasks for every method (checked by fingerprint); "
        f"accuracy in % with its 95% CI.  ",
    ]
    if comparison.budget:
        lines.append(f"Meta-training budget: {comparison.budget}.  ")
    if details:
        lines += [
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
        budget="; ".join(dict.fromkeys(part.budget for part in comparisons if part.budget)),
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

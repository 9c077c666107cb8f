"""The evaluation protocol every method and notebook reports through.

A learner is scored on a fixed, seeded set of tasks from one meta-split (the test split by default):
mean accuracy over 600 tasks (mean squared error for regression) with a 95% confidence interval,
1.96 * std / sqrt(tasks), as the papers report it (../shared/docs/REFERENCES.md).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from fewshot_lab.data import make_sampler
from fewshot_lab.learner import evaluation_mode, task_scores


@dataclass
class Evaluation:
    metric: str  # "accuracy" (a fraction in [0, 1]) or "mse"
    mean: float
    ci95: float  # half-width of the 95% confidence interval of the mean
    values: np.ndarray = field(repr=False)  # [episodes], one value per task
    dataset: str = ""
    split: str = "test"
    ways: int | None = None
    shots: int = 1
    queries: int = 15
    episodes: int = 600
    seed: int | None = 0
    within_alphabet: bool = False

    @property
    def protocol(self) -> str:
        shape = f"{self.shots}-shot" if self.ways is None else f"{self.ways}-way {self.shots}-shot"
        where = ", within alphabet" if self.within_alphabet else ""
        return (
            f"{shape}, {self.queries} queries, {self.episodes} {self.split} tasks of {self.dataset}{where}, "
            f"seed {self.seed}"
        )

    def __str__(self) -> str:
        if self.metric == "accuracy":
            return f"{100 * self.mean:.2f}% ± {100 * self.ci95:.2f}% ({self.protocol}; 95% CI)"
        return f"MSE {self.mean:.3f} ± {self.ci95:.3f} ({self.protocol}; 95% CI)"

    def to_dict(self) -> dict:
        record = asdict(self)
        record["values"] = self.values.tolist()
        return record


def confidence_interval(values) -> float:
    """Half-width of the 95% confidence interval of the mean of per-task values."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return math.nan
    return float(1.96 * values.std(ddof=1) / math.sqrt(len(values)))


def check_protocol(episodes: int, queries: int):
    """Refuse a number of tasks or of queries that could score nothing (a mean of no values is nan)."""
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if isinstance(queries, bool) or not isinstance(queries, int) or queries < 1:
        raise ValueError(f"queries must be at least 1: a task is scored on its queries, got {queries!r}")


def evaluate(
    learner,
    dataset,
    *,
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    episodes: int = 600,
    split: str = "test",
    within_alphabet: bool = False,
    seed: int | None = 0,
    device=None,
    progress: bool = False,
) -> Evaluation:
    """Score `learner` on `episodes` seeded tasks of `dataset` (same seed, same tasks, for every learner).

    `learner` follows the learner protocol (fewshot_lab.learner): learner.adapt(support_x, support_y)
    returns a model of the task that maps query_x to class scores [queries, ways], or to predictions
    [queries, 1] for regression.
    """
    check_protocol(episodes, queries)
    if not hasattr(learner, "adapt"):
        raise TypeError(
            f"{type(learner).__name__} does not follow the learner protocol: it has no adapt(support_x, support_y)"
        )
    regression = getattr(dataset, "is_regression", False)
    sampler = make_sampler(
        dataset, split, ways=ways, shots=shots, queries=queries, within_alphabet=within_alphabet, seed=seed
    )
    values = np.empty(episodes)
    with evaluation_mode(learner) as learner_device:
        device = torch.device(device) if device is not None else learner_device
        for index, task in enumerate(
            tqdm(sampler.take(episodes), total=episodes, disable=not progress, desc=f"evaluating on {split} tasks")
        ):
            task = task.to(device)
            scores = task_scores(learner, task).detach()
            if regression:
                values[index] = torch.mean((scores - task.query_y) ** 2).item()
            else:
                values[index] = (scores.argmax(dim=-1) == task.query_y).float().mean().item()
    return Evaluation(
        "mse" if regression else "accuracy",
        float(values.mean()),
        confidence_interval(values),
        values,
        dataset=getattr(dataset, "name", type(dataset).__name__),
        split=split,
        ways=None if regression else ways,
        shots=shots,
        queries=queries,
        episodes=episodes,
        seed=seed,
        within_alphabet=within_alphabet,
    )

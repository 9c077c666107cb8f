"""Section 7.4 (simple models): what a learner costs per task, the time to adapt to its support set and label its
queries; results.plot_accuracy_and_time draws it beside the accuracy."""

from __future__ import annotations

import numpy as np

from fewshot_lab.checks import check_positive_int
from fewshot_lab.data import make_sampler
from fewshot_lab.data.dataset import FewShotDataset
from fewshot_lab.evaluation import evaluation_mode, task_scores
from fewshot_lab.lessons.timing import Stopwatch


def adaptation_time(
    learner,
    dataset: FewShotDataset,
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    tasks: int = 10,
    split: str = "test",
    seed: int = 0,
) -> float:
    """The median wall-clock seconds a learner takes to learn one task from its support set and label its
    queries (learner.adapt, then the task model on the query set), over `tasks` seeded tasks, in eval mode."""
    check_positive_int("tasks", tasks)
    runs = []
    with evaluation_mode(learner) as device:
        for task in make_sampler(dataset, split, ways=ways, shots=shots, queries=queries, seed=seed).take(tasks):
            task = task.to(device)
            with Stopwatch(device) as clock:
                task_scores(learner, task.support_x, task.support_y, task.query_x)
            runs.append(clock.seconds)
    return float(np.median(runs))

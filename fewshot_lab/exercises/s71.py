"""Exercises of notebook 7.1 (what meta-learning is): chance level, the 95% confidence interval of a mean
accuracy over tasks, and predicting with y = f(x, D_train; Θ) through the learner protocol."""

from __future__ import annotations

import numpy as np
import torch

from fewshot_lab.evaluation import confidence_interval
from fewshot_lab.exercises import call, checker, expect, require
from fewshot_lab.methods.nearest import NearestNeighbour


@checker
def check_chance_level(chance_level):
    """chance_level(ways) -> the expected accuracy of guessing a label uniformly at random in an N-way task."""
    for ways in (5, 2, 20):
        expect(
            call(chance_level, ways),
            1 / ways,
            f"chance_level({ways})",
            mistakes={
                f"chance_level({ways}) gave {1 / (ways - 1):.4g}: a random guess picks one of all {ways} "
                f"labels, the right one included, so it is right with probability 1/{ways}": 1 / (ways - 1),
                f"chance_level({ways}) gave {ways}: that is the number of labels, not the probability "
                "of guessing right": ways,
            },
        )
    return "Right: chance is 1/N, 20% for 5-way tasks and 5% for 20-way ones; report accuracies against it."


@checker
def check_mean_and_ci95(mean_and_ci95):
    """mean_and_ci95(accuracies) -> (mean, half-width of the 95% confidence interval) of per-task accuracies."""
    accuracies = torch.from_numpy(np.random.default_rng(0).uniform(0.4, 1.0, size=10))  # [tasks]
    answer = call(mean_and_ci95, accuracies)
    require(
        isinstance(answer, tuple) and len(answer) == 2,
        f"mean_and_ci95 returned {type(answer).__name__}; return a pair: `return mean, ci95`",
    )
    mean, ci95 = answer
    expect(mean, accuracies.mean(), "the mean (first of the pair)")
    std, tasks = accuracies.std(), len(accuracies)
    expect(
        ci95,
        confidence_interval(accuracies.numpy()),
        "the 95% half-width (second of the pair)",
        mistakes={
            "the half-width must shrink with more tasks: divide the standard deviation by sqrt(tasks)": 1.96 * std,
            "divide by sqrt(tasks), not by tasks: the standard error of a mean is std / sqrt(n)": 1.96 * std / tasks,
            "that is the standard error, std / sqrt(tasks); the 95% half-width is 1.96 times it": std / tasks**0.5,
            "use the sample standard deviation (ddof=1, torch's default): with 10 tasks the "
            "population one (ddof=0) is 5% too small": 1.96 * accuracies.std(correction=0) / tasks**0.5,
        },
    )
    return "Right: mean ± 1.96 std / sqrt(tasks), as the papers report over 600 tasks."


@checker
def check_predict(predict):
    """predict(learner, support_x, support_y, query_x) -> one predicted label per query, through learner.adapt."""
    generator = torch.Generator().manual_seed(0)
    learner = NearestNeighbour()
    support_x = torch.rand(4, 1, 6, 6, generator=generator)  # [ways * shots, 1, 6, 6], 4-way 1-shot
    support_y = torch.tensor([2, 0, 3, 1])  # [ways * shots], in no particular order
    query_x = support_x[[1, 3, 0, 2, 2, 1]] + 0.05 * torch.rand(6, 1, 6, 6, generator=generator)  # [queries, ...]
    scores = learner.adapt(support_x, support_y)(query_x)  # [queries, ways]
    expect(
        call(predict, learner, support_x, support_y, query_x),
        scores.argmax(dim=1),
        "the predicted labels",
        mistakes={
            "these are the scores f(x) of every class; the label is the class with the highest "
            "score, argmax over dim=1": scores,
            "argmax over dim=0 picks a query for each class; take it over the classes, dim=1": scores.argmax(dim=0),
            "these are positions in the support set, not labels: adapt already maps queries to "
            "class scores": torch.tensor([1, 3, 0, 2, 2, 1]),
        },
    )
    return "Right: task_model = learner.adapt(support_x, support_y) is f(·, D_train; Θ); its argmax labels the queries."

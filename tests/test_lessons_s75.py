"""Section 7.5's figures draw what they claim: a Matching Network's attention, a Prototypical Network's prototypes,
and what attention costs as the support set grows."""

import numpy as np
import pytest
import torch

from fewshot_lab.data.tasks import TaskSampler
from fewshot_lab.evaluation import task_scores
from fewshot_lab.lessons.embedding import pca_projection
from fewshot_lab.lessons.s75 import (
    attention_cost,
    classifier_elements,
    plot_attention,
    plot_attention_cost,
    plot_prototypes,
)
from tests.test_evaluation import pattern_dataset
from tests.test_lessons_shared import small

pytestmark = pytest.mark.usefixtures("close_figures")


def test_plot_attention_shows_the_matching_networks_attention_for_that_query():
    dataset = pattern_dataset()
    learner = small("matching").eval()
    task = TaskSampler(dataset, "test", ways=3, shots=2, queries=2, seed=0).sample()
    figure = plot_attention(learner, task, query=4)
    assert len(figure.axes) == 1 + 3 * 2 + 1  # query, support images, heatmap
    shown = torch.from_numpy(np.asarray(figure.axes[-1].images[0].get_array())).float()  # [ways, shots]
    with torch.no_grad():
        expected = learner.attention(task.support_x, task.support_y, task.query_x)[4]  # [ways * shots]
    assert shown.shape == (3, 2) and torch.allclose(shown.flatten(), expected, atol=1e-6)
    assert shown.sum().item() == pytest.approx(1.0, abs=1e-5)
    predicted = task_scores(learner, task.support_x, task.support_y, task.query_x[4:5]).argmax(-1).item()
    assert f"true {task.query_y[4].item()}, predicted {predicted}" in figure.axes[0].get_title()


def test_plot_prototypes_marks_the_projected_class_means():
    dataset = pattern_dataset()
    learner = small("protonet").eval()
    task = TaskSampler(dataset, "test", ways=3, shots=4, queries=3, seed=1).sample()
    ax = plot_prototypes(learner, task).axes[0]
    collections = {c.get_label(): torch.from_numpy(np.asarray(c.get_offsets())).float() for c in ax.collections}
    support, prototypes = collections["support"], collections["prototypes"]
    assert support.shape == (12, 2) and prototypes.shape == (3, 2) and collections["queries"].shape == (9, 2)
    means = torch.stack([support[task.support_y == label].mean(0) for label in range(3)])
    assert torch.allclose(prototypes, means, atol=1e-4)
    with torch.no_grad():
        embedded = torch.cat([learner.embedding(task.support_x), learner.embedding(task.query_x)])
        expected = pca_projection(embedded)(learner.prototypes(task.support_x, task.support_y))
    assert torch.allclose(prototypes, expected, atol=1e-4)


def test_attention_cost_grows_with_the_support_set_for_attention_only():
    cost = attention_cost(support_sizes=(5, 10, 20), queries=6, repeats=1)
    names = ["Matching Networks", "Matching Networks + FCE", "Prototypical Networks"]
    assert set(cost) == {"support_sizes", "queries", "ways", "features", "seconds", "read_seconds", "bytes"}
    assert all(list(cost[key]) == names for key in ("seconds", "read_seconds", "bytes"))
    assert all(
        len(values) == 3 and min(values) > 0 for key in ("seconds", "read_seconds") for values in cost[key].values()
    )
    matching, fce, protonet = (cost["bytes"][name] for name in names)
    assert matching == [4 * 6 * size for size in (5, 10, 20)]  # the [queries, support] attention matrix
    assert fce[0] < fce[1] < fce[2] and all(f > m for f, m in zip(fce, matching))
    assert protonet[0] == protonet[2] == 4 * (5 * 32 + 6 * 5)
    figure = plot_attention_cost(cost)
    assert len(figure.axes) == 2 and len(figure.axes[0].lines) == 6 and len(figure.axes[1].lines) == 3
    assert all(ax.get_xscale() == ax.get_yscale() == "log" for ax in figure.axes)
    with pytest.raises(ValueError, match="multiples of ways=5"):
        attention_cost(support_sizes=(5, 12))
    with pytest.raises(ValueError, match="unknown classifier"):
        classifier_elements("Relation Network", 5, 5, 5, 32)

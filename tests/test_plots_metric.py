"""The figures and the widget of sections 7.4 and 7.5 draw what they claim."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from fewshot_lab.data.tasks import TaskSampler
from fewshot_lab.engine import meta_train
from fewshot_lab.evaluation import task_scores
from fewshot_lab.methods import build_learner
from fewshot_lab.plots import (
    adaptation_time,
    attention_cost,
    classifier_elements,
    pca_projection,
    plot_accuracy_and_time,
    plot_attention,
    plot_attention_cost,
    plot_embedding,
    plot_history,
    plot_prototypes,
)
from tests.test_evaluation import pattern_dataset


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def small(method: str, **options):
    torch.manual_seed(0)
    return build_learner(method, backbone="conv4-small", **options)


def test_plot_history_draws_the_run_and_its_validations():
    dataset = pattern_dataset()
    history = meta_train(
        small("protonet"), dataset, ways=3, shots=1, queries=2, steps=8, val_every=4, val_episodes=5, progress=False
    )
    figure = plot_history(history, window=3)
    left, right = figure.axes
    assert len(left.lines) == 2 and np.allclose(left.lines[0].get_ydata(), history.loss)
    assert np.allclose(left.lines[1].get_ydata()[2:], np.convolve(history.loss, np.ones(3) / 3, "valid"))
    assert len(right.containers) == 1 and len(right.containers[0].lines[0].get_xdata()) == 2  # validation points


def test_pca_projection_is_affine_onto_the_directions_of_largest_variance():
    points = torch.randn(200, 5) * torch.tensor([5.0, 0.1, 2.0, 0.1, 0.1]) + 3
    project = pca_projection(points)
    projected = project(points)
    assert projected.shape == (200, 2) and torch.allclose(projected.mean(0), torch.zeros(2), atol=1e-4)
    assert projected[:, 0].var() > projected[:, 1].var() > 3  # the two wide axes
    assert torch.allclose(project(points[:10].mean(0)), projected[:10].mean(0), atol=1e-4)


def test_plot_embedding_draws_a_panel_per_embedding_with_every_class():
    dataset = pattern_dataset()
    untrained, other = small("protonet"), small("protonet")
    figure = plot_embedding({"before": untrained.embedding, "after": other}, dataset, classes=4, images_per_class=5)
    assert len(figure.axes) == 2
    for ax in figure.axes:
        assert len(ax.collections) == 4 and all(len(c.get_offsets()) == 5 for c in ax.collections)
        assert "1-NN accuracy" in ax.get_title()
    assert untrained.training  # its mode is given back


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


def test_adaptation_time_and_the_accuracy_time_figure():
    from fewshot_lab.evaluation import evaluate

    dataset = pattern_dataset()
    learner = small("protonet")
    seconds = adaptation_time(learner, dataset, ways=3, shots=1, queries=2, tasks=3)
    assert 0 < seconds < 5 and learner.training
    evaluations = {
        ("protonet", shots): evaluate(learner, dataset, ways=3, shots=shots, queries=2, episodes=5) for shots in (1, 2)
    }
    evaluations["pixels", 1] = evaluations["protonet", 1]
    times = dict.fromkeys(evaluations, seconds)
    left, right = plot_accuracy_and_time(evaluations, times).axes
    assert len(left.patches) == len(right.patches) == 3 and right.get_xscale() == "log"
    assert [label.get_text() for label in left.get_yticklabels()] == ["protonet", "pixels"]
    with pytest.raises(ValueError, match="the same"):
        plot_accuracy_and_time(evaluations, {("protonet", 1): seconds})


def test_accuracy_explorer_shows_a_percentage_and_follows_its_controls():
    from fewshot_lab.widgets import AccuracyExplorer

    dataset = pattern_dataset(classes=32)  # 12 test classes
    explorer = AccuracyExplorer({"protonet": small("protonet"), "matching": small("matching")}, dataset, episodes=10)
    first = explorer.result.value
    assert "protonet" in first and "%" in first and "5-way 1-shot" in first and "95% CI" in first
    assert plt.get_fignums() == []
    explorer.shots.value = 3
    assert "5-way 3-shot" in explorer.result.value and explorer.evaluation.shots == 3
    explorer.method.value = "matching"
    assert "matching" in explorer.result.value
    explorer.ways.value = 20  # more ways than the test split has classes: said, not raised
    assert explorer.evaluation is None and "20" in explorer.result.value and "%" not in explorer.result.value
    explorer.ways.value = 5
    again = explorer.result.value
    explorer.button.click()
    assert explorer.result.value == again  # seeded: the same tasks, the same result

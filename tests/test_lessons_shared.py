"""The pieces several sections' notebooks share draw what they claim: images and tasks, labels the font can draw,
training runs and evaluations, embeddings, the accuracy explorer, and the one clock."""

import time

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from fewshot_lab.data.tasks import TaskSampler
from fewshot_lab.engine import meta_train
from fewshot_lab.evaluation import confidence_interval, evaluate
from fewshot_lab.lessons.drawing import short_label, show_task
from fewshot_lab.lessons.embedding import pca_projection, plot_embedding
from fewshot_lab.lessons.results import AccuracyExplorer, compare_per_task, plot_history
from fewshot_lab.lessons.timing import Stopwatch
from fewshot_lab.methods import build_learner
from fewshot_lab.methods.nearest import NearestNeighbour
from tests.test_evaluation import pattern_dataset

pytestmark = pytest.mark.usefixtures("close_figures")


def small(method: str, **options):
    torch.manual_seed(0)
    return build_learner(method, backbone="conv4-small", **options)


def test_show_task_draws_a_row_per_way_and_marks_wrong_predictions():
    dataset = pattern_dataset()
    task = TaskSampler(dataset, "train", ways=3, shots=2, queries=2, seed=0).sample()
    figure = show_task(task, dataset, max_queries=2)
    assert len(figure.axes) == 3 * 4
    wrong = (task.query_y + 1) % 3
    figure = show_task(task, dataset, max_queries=2, predictions=wrong)
    colours = [ax.title.get_color() for ax in figure.axes if ax.get_title().startswith("→")]
    assert len(colours) == 6 and set(colours) == {"red"}


def test_labels_drop_characters_the_font_cannot_draw():
    assert short_label("Technical/U+2376 \u2376") == "Technical/U+2376"
    assert short_label("Greek/U+03B1 \u03b1") == "Greek/U+03B1 \u03b1"


def test_compare_per_task_plots_every_learner():

    dataset = pattern_dataset(noise=200)
    results = {
        name: evaluate(NearestNeighbour(k=k), dataset, ways=3, queries=2, episodes=20)
        for name, k in (("1-NN", 1), ("3-NN", 3))
    }
    figure = compare_per_task(results)
    assert len(figure.axes[0].lines) == 2
    differences = results["3-NN"].values - results["1-NN"].values
    (legend,) = [text.get_text() for text in figure.axes[1].get_legend().get_texts()]
    assert legend == (
        f"3-NN − 1-NN: {100 * differences.mean():+.1f} ± {100 * confidence_interval(differences):.1f} points"
    )


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


def test_accuracy_explorer_shows_a_percentage_and_follows_its_controls():
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


def test_the_stopwatch_times_its_block():
    with Stopwatch() as clock:
        time.sleep(0.02)
    assert 0.02 <= clock.seconds < 5

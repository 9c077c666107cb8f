"""The notebooks' figures and widgets: they draw what they claim, and the hypothesis-space helper is right."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from fewshot_lab.data import load_dataset
from fewshot_lab.data.tasks import TaskSampler
from fewshot_lab.plots import (
    compare_per_task,
    consistent_waves,
    plot_hypothesis_space,
    show_class,
    show_split,
    show_task,
    smooth_curves_through,
)
from tests.test_evaluation import pattern_dataset


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_show_task_draws_a_row_per_way_and_marks_wrong_predictions():
    dataset = pattern_dataset()
    task = TaskSampler(dataset, "train", ways=3, shots=2, queries=2, seed=0).sample()
    figure = show_task(task, dataset, max_queries=2)
    assert len(figure.axes) == 3 * 4
    wrong = (task.query_y + 1) % 3
    figure = show_task(task, dataset, max_queries=2, predictions=wrong)
    colours = [ax.title.get_color() for ax in figure.axes if ax.get_title().startswith("→")]
    assert len(colours) == 6 and set(colours) == {"red"}


def test_split_and_class_views():
    dataset = pattern_dataset()
    assert len(show_split(dataset, "train", groups=2, per_group=3).axes) == 6
    assert len(show_class(dataset, 0, images=5).axes) == 5


def test_labels_drop_characters_the_font_cannot_draw():
    from fewshot_lab.plots import _short

    assert _short("Technical/U+2376 \u2376") == "Technical/U+2376"
    assert _short("Greek/U+03B1 \u03b1") == "Greek/U+03B1 \u03b1"


def test_compare_per_task_plots_every_learner():
    from fewshot_lab.evaluation import evaluate
    from fewshot_lab.methods.nearest import NearestNeighbour

    dataset = pattern_dataset(noise=200)
    results = {
        name: evaluate(NearestNeighbour(k=k), dataset, ways=3, queries=2, episodes=20)
        for name, k in (("1-NN", 1), ("3-NN", 3))
    }
    figure = compare_per_task(results)
    assert len(figure.axes[0].lines) == 2


def test_consistent_waves_hold_the_true_wave_and_shrink_with_more_points():
    family = load_dataset("sinusoid")
    task = family.sampler("test", shots=5, queries=0, seed=0).sample()
    two = consistent_waves(family, task.support_x[:2], task.support_y[:2], tolerance=0.1)
    five = consistent_waves(family, task.support_x, task.support_y, tolerance=0.1)
    assert 0 < len(five) < len(two)
    distance = (five - torch.stack([task.amplitude, task.phase])).norm(dim=1).min()
    assert distance < 0.1
    figure = plot_hypothesis_space(family, family.sampler("test", shots=2, queries=0, seed=3).sample())
    assert len(figure.axes[0].lines) > 10 and len(figure.axes[1].lines) > 1


def test_the_generic_curves_pass_through_the_support_points_and_differ_elsewhere():
    support_x, support_y = torch.tensor([[-3.0], [0.5], [2.0]]), torch.tensor([[1.0], [-2.0], [0.5]])
    x = torch.cat([support_x, torch.linspace(-5, 5, 50)[:, None]])  # [53, 1]
    curves = smooth_curves_through(support_x, support_y, x, 6, np.random.default_rng(0))  # [6, 53]
    assert curves.shape == (6, 53)
    assert torch.allclose(curves[:, :3], support_y.flatten().expand(6, 3), atol=1e-3)
    assert curves[:, 3:].std(0).mean() > 0.5  # away from the support points they disagree


def test_task_explorer_redraws_and_reports_impossible_requests(glyphs_dataset):
    from fewshot_lab.widgets import TaskExplorer

    explorer = TaskExplorer(datasets=["glyphs"], seed=0)
    first = explorer.sampler.sample().query_index
    assert bytes(explorer.picture.value).startswith(b"\x89PNG") and plt.get_fignums() == []
    explorer.ways.value = 3
    assert explorer.sampler.ways == 3 and not torch.equal(first, explorer.sampler.sample().query_index)
    small = TaskExplorer(datasets=[pattern_dataset()], seed=0)  # alphabets of 4 classes
    small.within.value = True
    assert small.sampler is None and "within-alphabet tasks of 5 ways" in small.note.value
    assert small.picture.layout.display == "none"
    small.ways.value = 2
    assert small.sampler is not None and small.note.value == "" and small.picture.layout.display is None

"""The schematic diagrams: each draws the elements it names, in the numbers asked for, without a warning."""

import logging
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.text import Text

from fewshot_lab.data import make_sampler
from fewshot_lab.lessons import diagrams
from fewshot_lab.lessons.diagrams import style
from tests.test_evaluation import pattern_dataset


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(figure) -> list[str]:
    return [text.get_text() for text in figure.findobj(Text)]


def count(figure, kind: str) -> int:
    """How many artists the diagram tagged as `kind` (their gid)."""
    return sum(artist.get_gid() == kind for artist in figure.findobj())


def assert_shows(figure, *wanted: str):
    missing = [text for text in wanted if text not in texts(figure)]
    assert missing == [], f"missing {missing} among {texts(figure)}"


@pytest.mark.parametrize(("ways", "shots", "queries"), [(5, 1, 2), (3, 5, 4), (10, 1, 15)])
def test_episode_has_a_box_per_support_and_query_image_and_the_three_meta_splits(ways, shots, queries):
    figure = diagrams.episode_diagram(ways=ways, shots=shots, queries=queries)
    assert count(figure, "support") == ways * shots and count(figure, "query") == ways * queries
    assert all(count(figure, f"meta-{split}") == 1 for split in ("train", "val", "test"))
    assert_shows(
        figure,
        f"A {ways}-way {shots}-shot episode inside the meta-level split",
        "meta-train classes",
        "meta-val classes",
        "meta-test classes",
        "support set S",
        "query set Q",
        "label 0",
        f"label {ways - 1}",
        f"{ways} × {shots}",
        f"{ways} × {queries}",
    )


def test_episode_draws_a_datasets_images_in_their_labels_rows():
    dataset = pattern_dataset()
    figure = diagrams.episode_diagram(ways=4, shots=2, queries=3, dataset=dataset)
    task = make_sampler(dataset, "train", ways=4, shots=2, queries=3, seed=0).sample()
    images = [image.get_array() for image in figure.axes[0].get_images()]
    panels = 7 + 3 + 3  # the meta-train panel: the task's 4 classes and 3 others; 3 val and 3 test classes
    assert len(images) == panels + 4 * (2 + 3)
    support, query = images[panels : panels + 8], images[panels + 8 :]
    for row in range(4):
        assert np.array_equal(support[2 * row + 1], task.support_x[task.support_y == row][1][0].numpy())
        assert np.array_equal(query[3 * row + 2], task.query_x[task.query_y == row][2][0].numpy())
    assert count(figure, "support") == 8 and count(figure, "query") == 12


def test_episode_sizes_that_cannot_be_drawn_readably_are_refused():
    with pytest.raises(ValueError, match="ways must be a whole number from 2 to 10 for a readable diagram, got 30"):
        diagrams.episode_diagram(ways=30)
    with pytest.raises(ValueError, match="shots must be a whole number from 1 to 10"):
        diagrams.episode_diagram(shots=0)
    with pytest.raises(ValueError, match="steps must be a whole number from 1 to 5"):
        diagrams.optimizer_unroll_diagram(steps=2.5)


def test_loops_adapt_each_task_then_update_theta_from_the_summed_query_losses():
    figure = diagrams.loops_diagram()
    assert count(figure, "inner") == 3 and count(figure, "query loss") == 3
    assert count(figure, "theta") == 1 and count(figure, "meta-loss") == 1
    assert_shows(figure, "inner loop: per task, fast", "outer loop: across tasks, slow")
    assert any(r"\theta'_2 = \theta - \alpha\nabla_\theta L_{S_2}(\theta)" in text for text in texts(figure))


def test_attention_weighs_each_support_label_and_sums_them():
    figure = diagrams.attention_diagram()
    support = len(diagrams.SUPPORT_LABELS)
    assert count(figure, "support") == support and count(figure, "attention") == support
    assert count(figure, "label") == 3 * support and count(figure, "prediction") == 3
    assert sum(diagrams.ATTENTION) == pytest.approx(1.0)
    assert_shows(figure, r"$a(\hat{x}, x_i)$", r"label $y_i$", r"$\hat{y}$", "0.10, 0.82, 0.08")


def test_mann_has_a_controller_read_and_write_heads_a_memory_and_usage_weights():
    figure = diagrams.mann_diagram()
    slots = len(diagrams.USAGE)
    assert count(figure, "memory cell") == slots * 8 and count(figure, "usage") == slots
    assert all(count(figure, kind) == 1 for kind in ("controller", "read head", "write head", "input", "output"))
    assert_shows(figure, "read heads", "write head", r"memory $M_t$", r"usage $w^u_t$", r"input $(x_t,\ y_{t-1})$")
    assert_shows(figure, r"$w^r_t(i) \propto \exp(\beta_t \cos(k_t, M_{t-1}(i)))$")  # looked up before the write


@pytest.mark.parametrize("steps", [1, 3, 5])
def test_optimizer_unroll_has_an_lstm_step_between_consecutive_optimizee_weights(steps):
    figure = diagrams.optimizer_unroll_diagram(steps=steps)
    assert count(figure, "lstm") == steps
    assert count(figure, "optimizee") == steps + 1 and count(figure, "loss") == steps + 1
    assert count(figure, "meta-loss term") == steps  # f(theta_1) .. f(theta_T): f(theta_0) is not in the meta-loss
    assert_shows(
        figure, r"meta-loss $\sum_{t \geq 1} w_t\, f(\theta_t)$", rf"$\theta_{steps}$", r"$g_0$", r"$\nabla_0$"
    )


def test_parameter_space_shows_each_tasks_optimum_and_one_step_towards_it():
    figure = diagrams.parameter_space_diagram()
    assert count(figure, "optimum") == 3 and count(figure, "theta") == 1 and count(figure, "level curve") == 6
    assert_shows(figure, r"$\theta^*_1$", r"$\theta^*_3$", r"$-\alpha\nabla L_2$", r"$\theta$")
    path = diagrams._meta_path(diagrams.META_START, diagrams.META_LR, diagrams.META_STEPS)
    theta = path[-1]  # where the outer loop ends: one inner step from it lands near every optimum
    for optimum, curvature in zip(diagrams.TASK_OPTIMA, diagrams.TASK_CURVATURES):
        adapted = theta - diagrams.INNER_LR * curvature @ (theta - optimum)
        assert np.linalg.norm(adapted - optimum) < 0.25 * np.linalg.norm(theta - optimum)
    meta_gradient = np.linalg.norm(diagrams._meta_gradient(theta))
    assert meta_gradient < 0.02 * np.linalg.norm(diagrams._meta_gradient(path[0]))


@pytest.mark.parametrize(
    "draw",
    [
        diagrams.episode_diagram,
        lambda: diagrams.episode_diagram(dataset=pattern_dataset()),
        diagrams.loops_diagram,
        diagrams.attention_diagram,
        diagrams.mann_diagram,
        diagrams.optimizer_unroll_diagram,
        diagrams.parameter_space_diagram,
    ],
)
def test_every_diagram_renders_without_a_warning(draw, caplog):
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
        warnings.simplefilter("error")
        figure = draw()
        figure.canvas.draw()
    assert caplog.records == []


def test_chinese_terms_are_drawn_only_with_a_font_that_has_them(monkeypatch):
    if style.chinese_font() is None:
        assert style.term("inner loop", "内循环") == "inner loop"
    monkeypatch.setattr(style, "chinese_font", lambda: "Noto Sans CJK SC")
    assert style.term("inner loop", "内循环") == "inner loop (内循环)"

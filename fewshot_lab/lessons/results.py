"""What meta_train and evaluate return, read as figures and a widget (notebooks 7.1, 7.4, 7.5 and 7.8): a training
run, the per-task scores of several learners on the same tasks, accuracy beside the time a task costs, and an
explorer of accuracy by method, ways and shots.

Every function draws into new matplotlib axes and returns the figure, so a notebook cell stays one line.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.ticker import FuncFormatter

from fewshot_lab.evaluation import confidence_interval, evaluate


def _smooth(values, window: int) -> np.ndarray:
    """The mean of the last `window` values at every step (of fewer at the start, so no step is dropped)."""
    values = np.asarray(values, dtype=np.float64)
    totals = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (totals[ends] - totals[starts]) / (ends - starts)


def plot_history(history, window: int | None = None):
    """A run of fewshot_lab.meta_train: the training loss and accuracy per step, as moving averages over
    `window` steps (default: a fiftieth of the run, at least 5), and the meta-validation accuracy with its 95% CI."""
    steps = np.asarray(history.step)
    window = window or max(5, len(steps) // 50)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    left.plot(steps, history.loss, color="tab:blue", alpha=0.25, linewidth=0.8, label="each step")
    left.plot(steps, _smooth(history.loss, window), color="tab:blue", label=f"mean of {window} steps")
    left.set_xlabel("training step")
    left.set_ylabel("training loss")
    left.legend(fontsize=8)
    right.plot(
        steps, _smooth(history.accuracy, window), color="tab:blue", label=f"training batches, mean of {window} steps"
    )
    right.errorbar(
        history.val_step,
        history.val_accuracy,
        yerr=history.val_ci95,
        fmt="o",
        color="tab:orange",
        capsize=3,
        label="meta-validation tasks (95% CI)",
    )
    if history.best_step >= 0:
        right.axvline(history.best_step, color="gray", linestyle=":", label="best validation: weights kept")
    right.set_xlabel("training step")
    right.set_ylabel("accuracy")
    right.set_ylim(0, 1.02)
    right.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return figure


def compare_per_task(evaluations: dict, reference: str | None = None):
    """Per-task scores of several learners on the same seeded tasks: sorted curves (left), and the paired differences
    from `reference` (default: the first), with their mean and its 95% CI (right). Two learners scored on the same
    tasks are compared by these differences: their own intervals can overlap while the paired one excludes 0."""
    names = list(evaluations)
    reference = reference or names[0]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    for name in names:
        result = evaluations[name]
        left.plot(np.sort(result.values)[::-1], label=f"{name}: {100 * result.mean:.1f}% ± {100 * result.ci95:.1f}")
    left.set_xlabel("tasks, sorted by accuracy")
    left.set_ylabel("query accuracy")
    left.legend(fontsize=8)
    baseline = evaluations[reference].values
    for name in names:
        if name != reference:
            differences = evaluations[name].values - baseline  # [tasks], paired: the same task for both
            mean, ci95 = 100 * differences.mean(), 100 * confidence_interval(differences)
            right.hist(differences, bins=21, alpha=0.6, label=f"{name} − {reference}: {mean:+.1f} ± {ci95:.1f} points")
    right.axvline(0, color="black", linewidth=1)
    right.set_ylim(0, 1.3 * right.get_ylim()[1])  # room above the bars for the legend
    right.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{100 * value:.0f}"))  # fractions as points
    right.locator_params(axis="x", nbins=6)
    right.set_xlabel("accuracy difference on the same task, in points (legend: mean ± 95% CI)")
    right.set_ylabel("tasks")
    right.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    return figure


ADAPTATION_TIME = "seconds to adapt to one task and label its queries (median)"


def plot_accuracy_and_time(evaluations: dict, seconds: dict, time_label: str = ADAPTATION_TIME):
    """Accuracy and cost side by side, a row per method and a bar per number of shots: the accuracy with its 95% CI
    (left) and a time (right, log scale), by default the time to adapt to one task.

    evaluations: {(method, shots): Evaluation}; seconds: {(method, shots): seconds}, the same keys
    (adaptation_time measures them); time_label: what the seconds measure, e.g. "seconds per meta-training step".
    """
    if set(evaluations) != set(seconds):
        raise ValueError(
            f"evaluations and seconds need the same (method, shots) keys; only one of them has "
            f"{sorted(set(evaluations) ^ set(seconds), key=str)}"
        )
    methods = list(dict.fromkeys(method for method, _ in evaluations))
    shot_counts = sorted({shots for _, shots in evaluations})
    height = 0.8 / len(shot_counts)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 0.35 * len(evaluations) + 1.5), sharey=True)
    palette = plt.get_cmap("tab10")
    for index, shots in enumerate(shot_counts):
        rows = [(row, method) for row, method in enumerate(methods) if (method, shots) in evaluations]
        y = [row + (index - (len(shot_counts) - 1) / 2) * height for row, _ in rows]
        results = [evaluations[method, shots] for _, method in rows]
        times = [seconds[method, shots] for _, method in rows]
        left.barh(
            y,
            [r.mean for r in results],
            height,
            xerr=[r.ci95 for r in results],
            capsize=3,
            color=palette(index),
            label=f"{shots}-shot",
        )
        right.barh(y, times, height, color=palette(index), label=f"{shots}-shot")
        for position, result, time_taken in zip(y, results, times):
            left.text(result.mean + result.ci95 + 0.005, position, f"{100 * result.mean:.1f}%", va="center", fontsize=7)
            right.text(time_taken * 1.1, position, f"{1000 * time_taken:.0f} ms", va="center", fontsize=7)
    left.set_yticks(range(len(methods)), methods)
    left.invert_yaxis()
    lowest = min(r.mean - r.ci95 for r in evaluations.values())
    left.set_xlim(max(0.0, lowest - 0.05), 1.06)
    left.set_xlabel("accuracy on test tasks (95% CI)")
    right.set_xscale("log")
    right.set_xlim(right=max(seconds.values()) * 4)
    right.set_xlabel(time_label)
    first = next(iter(evaluations.values()))
    left.set_title(f"{first.ways}-way tasks of {first.dataset}", fontsize=9)
    right.set_title("what it costs", fontsize=9)
    right.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    return figure


class AccuracyExplorer:
    """Pick a learner, ways and shots; read its accuracy on seeded test tasks with a 95% CI (fewshot_lab.evaluate).

    learners: {name: learner} following the learner protocol, e.g. {"k-NN": knn, "fine-tune": finetuner}.
    The same seed gives every learner the same tasks at a setting (and the same setting the same tasks every time),
    so a result is stable and learners compare task for task. A change of method, ways or shots evaluates again;
    "evaluate" re-runs the current setting (after training a learner further, say).
    """

    def __init__(
        self, learners: dict, dataset, episodes: int = 100, queries: int = 15, split: str = "test", seed: int = 0
    ):
        if not learners:
            raise ValueError("AccuracyExplorer needs at least one learner: {name: learner}")
        self.learners, self.dataset = dict(learners), dataset
        self.episodes, self.queries, self.split, self.seed = episodes, queries, split, seed
        self.method = widgets.Dropdown(options=list(self.learners), description="method")
        self.ways = widgets.IntSlider(5, min=2, max=20, description="ways", continuous_update=False)
        self.shots = widgets.IntSlider(1, min=1, max=5, description="shots", continuous_update=False)
        self.button = widgets.Button(description="evaluate", icon="play")
        self.result = widgets.HTML()
        self.evaluation = None  # the latest fewshot_lab.Evaluation, None after a refused request
        for control in (self.method, self.ways, self.shots):
            control.observe(lambda change: self.evaluate(), names="value")
        self.button.on_click(lambda button: self.evaluate())
        self.widget = widgets.VBox(
            [widgets.HBox([self.method, self.button]), widgets.HBox([self.ways, self.shots]), self.result]
        )
        self.evaluate()

    def evaluate(self):
        """Score the chosen learner on the chosen task shape and show the result."""
        name = self.method.value
        self.result.value = html.escape(f"evaluating {name} on {self.episodes} tasks…")
        try:
            self.evaluation = evaluate(
                self.learners[name],
                self.dataset,
                ways=self.ways.value,
                shots=self.shots.value,
                queries=self.queries,
                episodes=self.episodes,
                split=self.split,
                seed=self.seed,
            )
        except ValueError as error:  # e.g. more ways than the split has classes: shown, not raised
            self.evaluation = None
            self.result.value = html.escape(str(error))
            return
        self.result.value = (
            f"<b>{html.escape(name)}</b>: {100 * self.evaluation.mean:.1f}% ± "
            f"{100 * self.evaluation.ci95:.1f}% <span style='color:gray'>"
            f"({html.escape(self.evaluation.protocol)}; 95% CI)</span>"
        )

    def _ipython_display_(self):
        display(self.widget)

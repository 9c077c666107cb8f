"""Section 7.1 (what meta-learning is): meta-learning prunes the hypothesis space. Curves through the same support
points, from a generic family of smooth functions and from the sine waves every task of the family is; and a button
that meta-trains step by step, to see the knowledge carried to new tasks grow."""

from __future__ import annotations

import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from fewshot_lab.engine import meta_train
from fewshot_lab.evaluation import evaluate
from fewshot_lab.lessons.drawing import figure_png
from fewshot_lab.methods import build_learner


def consistent_waves(
    family, support_x: torch.Tensor, support_y: torch.Tensor, tolerance: float = 0.1, grid: int = 200
) -> torch.Tensor:
    """The (amplitude, phase) pairs of the sinusoid family that pass within `tolerance` of every support point."""
    amplitudes = torch.linspace(*family.amplitude, grid)
    phases = torch.linspace(*family.phase, grid)
    amplitude, phase = torch.meshgrid(amplitudes, phases, indexing="ij")  # [grid, grid] each
    predicted = family.wave(support_x.flatten()[:, None, None], amplitude, phase)  # [shots, grid, grid]
    fits = (predicted - support_y.flatten()[:, None, None]).abs().amax(0) <= tolerance
    return torch.stack([amplitude[fits], phase[fits]], 1)  # [consistent, 2]


def plot_hypothesis_space(family, task, generic_curves: int = 40, seed: int = 0):
    """Meta-learning prunes the hypothesis space: curves through the same support points, drawn from a generic
    family of smooth functions (left) and from the family that all tasks share (right)."""
    x = torch.linspace(*family.x_range, 300)[:, None]
    support_x, support_y = task.support_x, task.support_y
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    rng = np.random.default_rng(seed)
    for curve in smooth_curves_through(support_x, support_y, x, generic_curves, rng):
        left.plot(x, curve, color="tab:gray", alpha=0.35, linewidth=1)
    waves = consistent_waves(family, support_x, support_y)
    for amplitude, phase in waves[torch.from_numpy(rng.permutation(len(waves))[:generic_curves])]:
        right.plot(x, family.wave(x, amplitude, phase), color="tab:blue", alpha=0.35, linewidth=1)
    for ax, title in (
        (left, "any smooth function through the support points"),
        (right, f"only waves of the task family: {len(waves)} of {200 * 200} (A, phase) fit"),
    ):
        ax.plot(x, family.wave(x, task.amplitude, task.phase), color="black", linestyle="--", label="true task")
        ax.scatter(support_x, support_y, color="red", zorder=3, label="support set")
        ax.set_title(title, fontsize=9)
        ax.set_ylim(-6, 6)
    left.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    return figure


def smooth_curves_through(support_x, support_y, x, curves: int, rng: np.random.Generator) -> torch.Tensor:
    """`curves` random smooth functions that pass through the support points (support_x, support_y [shots, 1]),
    evaluated at x [points, 1]: [curves, points]. Each is a sum of cosines with its own random frequencies and
    phases, fitted to the support points, plus a random draw from what the fit leaves free."""
    values = []
    for _ in range(curves):
        frequencies, phases = _random_frequencies(rng)

        def features(points, frequencies=frequencies, phases=phases):  # [points, 1] -> [points, basis]
            return torch.cat([torch.cos(points * k + b) for k, b in zip(frequencies, phases)], 1)

        design = features(support_x)  # [shots, basis]
        weights = torch.linalg.lstsq(design, support_y).solution  # [basis, 1]
        weights = weights + torch.from_numpy(_null_space_draw(design.numpy(), rng)).float()[:, None]
        values.append((features(x) @ weights).flatten())
    return torch.stack(values)


def _random_frequencies(rng: np.random.Generator, basis: int = 12):
    return (
        torch.from_numpy(rng.uniform(0.2, 2.5, basis)).float(),
        torch.from_numpy(rng.uniform(0, math.tau, basis)).float(),
    )


def _null_space_draw(design: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random direction that leaves the values at the support points unchanged."""
    _, _, vt = np.linalg.svd(design)
    null = vt[design.shape[0] :]  # [basis - shots, basis]
    return null.T @ rng.normal(size=len(null))


class CarriedKnowledge:
    """Learning to learn, measured press by press: a button meta-trains an embedding for `steps` more steps on the
    meta-train classes, and the accuracy it carries to new 5-way 1-shot test tasks is drawn against the steps so
    far, beside learners of one task alone (`references`: {name: Evaluation}, drawn as bands)."""

    def __init__(self, dataset, references: dict, steps: int = 200, episodes: int = 100, seed: int = 0):
        torch.manual_seed(seed)
        self.dataset, self.references, self.steps, self.episodes = dataset, references, steps, episodes
        self.learner = build_learner("knn", backbone="conv4-small", train_classes=len(dataset.splits["train"]))
        self.measured = [(0, self.measure())]  # (meta-training steps so far, Evaluation)
        self.button = widgets.Button(description=f"meta-train {steps} more steps", icon="play")
        self.picture = widgets.Image(format="png")
        self.button.on_click(lambda _: self.train())
        self.view = widgets.VBox([self.button, self.picture])
        self.draw()

    def measure(self):
        return evaluate(self.learner, self.dataset, ways=5, shots=1, episodes=self.episodes, seed=0)

    def train(self) -> None:
        """`steps` more steps of meta-training (Adam, a schedule of its own), then the same test tasks again."""
        done = self.measured[-1][0]
        meta_train(
            self.learner, self.dataset, steps=self.steps, lr=3e-3, val_every=self.steps, seed=done, progress=False
        )
        self.measured.append((done + self.steps, self.measure()))
        self.draw()

    def draw(self) -> None:
        figure, ax = plt.subplots(figsize=(6.4, 3.4))
        steps = [count for count, _ in self.measured]
        for (name, result), colour in zip(self.references.items(), ("tab:grey", "tab:orange", "tab:green")):
            ax.axhspan(100 * (result.mean - result.ci95), 100 * (result.mean + result.ci95), color=colour, alpha=0.25)
            ax.axhline(100 * result.mean, color=colour, lw=1, label=f"{name} (one task alone)")
        ax.errorbar(
            steps,
            [100 * result.mean for _, result in self.measured],
            yerr=[100 * result.ci95 for _, result in self.measured],
            marker="o",
            color="tab:blue",
            capsize=3,
            label="carried across tasks",
        )
        ax.axhline(20, color="black", ls=":", lw=1, label="chance")
        ax.set_xlabel("meta-training steps so far (batches of the meta-train classes)")
        ax.set_ylabel(f"5-way 1-shot test accuracy, % ({self.episodes} tasks)")
        ax.set_xlim(-0.05 * max(steps[-1], self.steps), 1.05 * max(steps[-1], self.steps))
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7, loc="lower right")
        figure.tight_layout()
        self.picture.value = figure_png(figure)

    def _ipython_display_(self):
        display(self.view)

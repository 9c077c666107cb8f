"""Sine waves adapted step by step (notebooks 7.2 and 7.8): a MAML-family learner's curve on one wave after a number
of gradient steps on the wave's K support points, drawn beside the true wave, and sliders to explore it."""

from __future__ import annotations

from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import torch

from fewshot_lab.evaluation import evaluation_mode
from fewshot_lab.lessons.drawing import figure_png


def _line(learner, task, steps: int, x: torch.Tensor) -> np.ndarray:
    """The learner's curve over x after `steps` inner-loop steps on the task's support points."""
    with evaluation_mode(learner):
        return learner.adapt(task.support_x, task.support_y, steps=steps)(x).detach().flatten().numpy()


def plot_sinusoid_adaptation(learners: dict, family, task, steps=(0, 1, 10)):
    """One panel per learner: the true wave, the task's K support points, and the learner's curve after each
    number of gradient steps on them. learners: {name: MAML-family learner} (a pretrained network is
    MAML trained with inner_steps=0)."""
    x = torch.linspace(*family.x_range, 200).unsqueeze(1)  # [200, 1]
    truth = family.wave(x, task.amplitude, task.phase).flatten().numpy()
    figure, axes = plt.subplots(1, len(learners), figsize=(4.6 * len(learners), 3.2), sharey=True, squeeze=False)
    colours = plt.get_cmap("viridis")(np.linspace(0.1, 0.85, len(steps)))
    for ax, (name, learner) in zip(axes[0], learners.items()):
        ax.plot(x.flatten(), truth, color="black", lw=2, label="true wave")
        for count, colour in zip(steps, colours):
            ax.plot(
                x.flatten(),
                _line(learner, task, count, x),
                color=colour,
                lw=1.5,
                ls="--" if count == 0 else "-",
                label=f"after {count} step{'s' if count != 1 else ''}",
            )
        ax.scatter(
            task.support_x.flatten(),
            task.support_y.flatten(),
            color="red",
            zorder=3,
            label=f"{len(task.support_x)} support points",
        )
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("x")
    axes[0][0].set_ylabel("y")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    return figure


class SinusoidExplorer:
    """Sliders for K (support points) and the number of gradient steps; the learners' adapted curves on one
    test wave, redrawn as a PNG (no output widget, so notebooks replay it exactly)."""

    def __init__(self, learners: dict, family, seed: int = 0, max_shots: int = 20, max_steps: int = 20):
        import ipywidgets as widgets

        self.learners, self.family, self.seed = learners, family, seed
        self.shots = widgets.IntSlider(5, min=1, max=max_shots, description="K points")
        self.steps = widgets.IntSlider(1, min=0, max=max_steps, description="steps")
        self.wave = widgets.IntSlider(0, min=0, max=20, description="wave")
        self.picture = widgets.Image(format="png")
        for control in (self.shots, self.steps, self.wave):
            control.observe(lambda change: self.draw(), names="value")
        self.view = widgets.VBox([widgets.HBox([self.shots, self.steps, self.wave]), self.picture])
        self.draw()

    def task(self):
        """The test wave the wave slider numbers, with its first K points. Every wave draws as many points as the
        K slider allows, so that moving K adds or removes points on the same wave instead of drawing another one."""
        sampler = self.family.sampler("test", shots=self.shots.max, queries=0, seed=self.seed)
        for _ in range(self.wave.value):
            sampler.sample()
        wave, shots = sampler.sample(), self.shots.value
        return replace(wave, support_x=wave.support_x[:shots], support_y=wave.support_y[:shots])  # [K, 1] each

    def draw(self):
        figure = plot_sinusoid_adaptation(self.learners, self.family, self.task(), steps=(0, self.steps.value))
        self.picture.value = figure_png(figure)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.view)

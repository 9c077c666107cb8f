"""Figures of section 7.7: loss curves of learned and hand-written optimisers, a race between them on a quadratic of
the learner's choosing, what the LSTM optimizer learned, and Meta-LSTM's gates read as learning rates and weight
decay.

Every function draws into new matplotlib axes and returns the figure, so a notebook cell stays one line.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from fewshot_lab.learned_optimizer import HELD_OUT_SEED, Baseline, LSTMOptimizer, Quadratics, run_optimizer
from fewshot_lab.lessons.drawing import figure_png

COLOURS = {
    "LSTM optimizer": "tab:red",
    "SGD": "tab:gray",
    "momentum": "tab:olive",
    "RMSprop": "tab:purple",
    "Adam": "tab:blue",
}


def plot_loss_curves(curves: dict, title: str = "", trained_horizon: int | None = None, ax=None):
    """Loss against step for each optimiser: the mean over instances (line) and the 25th to 75th percentile of
    the instances (band), on a log scale. curves: {name: tensor [steps + 1, instances]}, as run_optimizer
    gives. trained_horizon: draw a line at the horizon the learned optimizer was trained for."""
    figure, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3.6))
    for name, curve in curves.items():
        values = curve.detach().double().numpy()  # [steps + 1, instances]
        steps = np.arange(len(values))
        colour = COLOURS.get(name)
        ax.plot(steps, values.mean(1), label=name, color=colour)
        if values.shape[1] > 1:
            low, high = np.percentile(values, [25, 75], axis=1)
            ax.fill_between(steps, low, high, color=colour, alpha=0.15, linewidth=0)
    ax.set_yscale("log")
    ax.set_xlabel("optimisation step t")
    ax.set_ylabel("loss f(θ_t)")
    if trained_horizon is not None:
        ax.axvline(trained_horizon, color="black", linestyle=":", linewidth=1, label="trained horizon")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    figure.tight_layout()
    return figure


def plot_meta_training(meta_losses, truncations_per_optimizee: int = 5, window: int = 10):
    """The learned optimizer's meta-loss during meta-training: the mean loss of each optimizee's run, averaged
    over `window` optimizees."""
    per_optimizee = np.asarray(meta_losses).reshape(-1, truncations_per_optimizee).mean(1)
    window = min(window, len(per_optimizee))
    smoothed = np.convolve(per_optimizee, np.ones(window) / window, mode="valid")  # [optimizees - window + 1]
    figure, ax = plt.subplots(figsize=(6, 3))
    ax.plot(per_optimizee, color="tab:red", alpha=0.3, linewidth=0.8, label="each optimizee")
    ax.plot(
        np.arange(len(smoothed)) + len(per_optimizee) - len(smoothed),
        smoothed,
        color="tab:red",
        label=f"mean of {min(window, len(per_optimizee))}",
    )
    ax.set_yscale("log")
    ax.set_xlabel("training optimizee")
    ax.set_ylabel("meta-loss: mean f(θ_t) over the run")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _updates(optimizer: LSTMOptimizer, history: torch.Tensor) -> torch.Tensor:
    """The updates g_t [steps, coordinates] that `optimizer` proposes for gradients history [steps, coordinates]."""
    state, updates = optimizer.initial_state(history.shape[1]), []
    with torch.no_grad():
        for gradient in history:
            update, state = optimizer(gradient, state)
            updates.append(update)
    return torch.stack(updates)


def plot_update_rule(optimizer: LSTMOptimizer, history_steps: int = 10, sgd_lr: float | None = None):
    """What the LSTM optimizer learned, as functions of the gradient history.

    Left: the update g_t against the current gradient, after no history and after `history_steps` gradients of
    +1, of -1 and of alternating sign (SGD's -lr * grad dashed, with sgd_lr). Right: the updates for a constant
    gradient whose sign flips halfway, for three magnitudes (a hand-written rule with momentum would
    accelerate and then overshoot; SGD would step the same every time)."""
    current = torch.cat([-torch.logspace(1, -3, 60), torch.logspace(-3, 1, 60)])  # [120] current gradients
    histories = {
        "no history": torch.zeros(0),
        f"after {history_steps} × (+1)": torch.ones(history_steps),
        f"after {history_steps} × (−1)": -torch.ones(history_steps),
        f"after {history_steps} × (±1 alternating)": torch.tensor([(-1.0) ** k for k in range(history_steps)]),
    }
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, history in histories.items():
        gradients = torch.cat([history[:, None].expand(-1, len(current)), current[None]])  # [steps + 1, 120]
        left.plot(current, _updates(optimizer, gradients)[-1], label=name)
    if sgd_lr is not None:
        left.plot(current, -sgd_lr * current, color="black", linestyle="--", linewidth=1, label=f"SGD, lr {sgd_lr:.3g}")
    left.set_xscale("symlog", linthresh=1e-3)
    left.set_xlabel("current gradient ∇_t")
    left.set_ylabel("update g_t")
    left.axhline(0, color="gray", linewidth=0.5)
    left.legend(fontsize=7)
    steps = 2 * history_steps
    signs = torch.cat([torch.ones(history_steps), -torch.ones(steps - history_steps)])  # [steps]
    for magnitude in (0.01, 1.0, 100.0):
        right.plot(
            np.arange(1, steps + 1),
            _updates(optimizer, magnitude * signs[:, None])[:, 0],
            marker=".",
            label=f"∇ = ±{magnitude:g}",
        )
    right.axvline(history_steps + 0.5, color="gray", linestyle=":", linewidth=1)
    right.axhline(0, color="gray", linewidth=0.5)
    right.set_xlabel("step t (the gradient's sign flips at the dotted line)")
    right.set_ylabel("update g_t")
    right.legend(fontsize=7)
    figure.tight_layout()
    return figure


def plot_gates(gates: dict, weights: dict):
    """Meta-LSTM's gates over the steps of adaptation, averaged over the coordinates of each layer: the input
    gate i_t is the learning rate of step t (left), 1 - f_t the weight decay (right: theta_t = f_t theta_{t-1} -
    i_t grad_t shrinks theta by 1 - f_t). gates: as MetaLSTM.adapted_weights returns them; weights: the named
    weights they belong to, in order (MetaLSTM.initial_weights(ways))."""
    layers: dict[str, list[slice]] = {}
    start = 0
    for name, weight in weights.items():
        layers.setdefault(name.rsplit(".", 1)[0], []).append(slice(start, start + weight.numel()))
        start += weight.numel()
    steps = np.arange(1, len(gates["input"]) + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    for layer, slices in layers.items():
        input_gate = torch.cat([gates["input"][:, part] for part in slices], 1).mean(1)  # [steps]
        decay = 1 - torch.cat([gates["forget"][:, part] for part in slices], 1).mean(1)  # [steps]
        left.plot(steps, input_gate.cpu().numpy(), marker="o", label=layer)
        right.plot(steps, decay.cpu().numpy(), marker="o", label=layer)
    left.set_ylabel("input gate i_t: learning rate")
    right.set_ylabel("1 − forget gate f_t: weight decay")
    for ax in (left, right):
        ax.set_xlabel("adaptation step t")
        ax.set_xticks(steps)
    left.legend(fontsize=7)
    figure.tight_layout()
    return figure


class QuadraticRace:
    """The learned optimizer against hand-written ones (`rates`: {name: tuned learning rate}) on one held-out
    quadratic f(θ) = ||Wθ - y||² of the learner's choosing: which one (a seed), its dimension (the optimizer was
    trained in 10; it acts coordinate by coordinate, so it runs in any), and how many steps to show."""

    def __init__(self, optimizer: LSTMOptimizer, rates: dict, max_steps: int = 200):
        self.optimizer, self.rates = optimizer, rates
        self.quadratic = widgets.IntSlider(0, min=0, max=20, description="quadratic")
        self.dims = widgets.Dropdown(options=[2, 10, 30, 100], value=10, description="dimensions")
        self.steps = widgets.IntSlider(100, min=1, max=max_steps, description="steps")
        self.picture = widgets.Image(format="png")
        for control in (self.quadratic, self.dims, self.steps):
            control.observe(lambda _: self.draw(), names="value")
        self.view = widgets.VBox([widgets.HBox([self.quadratic, self.dims, self.steps]), self.picture])
        self.draw()

    def curves(self) -> dict:
        """{name: loss curve [steps + 1, 1]} of every optimiser on the chosen quadratic."""
        quadratic = Quadratics(instances=1, dims=self.dims.value, seed=HELD_OUT_SEED + self.quadratic.value)
        steps = self.steps.value
        return {
            "LSTM optimizer": run_optimizer(self.optimizer, quadratic, steps),
            **{name: run_optimizer(Baseline(name, lr), quadratic, steps) for name, lr in self.rates.items()},
        }

    def draw(self) -> None:
        title = f"held-out quadratic {self.quadratic.value}, {self.dims.value} dimensions"
        self.picture.value = figure_png(plot_loss_curves(self.curves(), title, trained_horizon=100))

    def _ipython_display_(self):
        display(self.view)

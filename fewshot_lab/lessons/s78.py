"""Figures of notebook 7.8 (learned initialisation): the shared initial point in parameter space, error against the
number of adaptation steps, and how well first-order meta-gradients agree with MAML's. Sine waves adapted step by
step are drawn by fewshot_lab.lessons.sinusoid, which 7.2 uses too."""

from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import numpy as np
import torch

from fewshot_lab.evaluation import evaluate, evaluation_mode


def error_by_steps(
    learner, dataset, steps=range(11), shots: int = 5, queries: int = 25, episodes: int = 100, seed: int = 0
) -> dict:
    """{steps: Evaluation}: the test error after each number of adaptation steps, on the same seeded tasks."""
    results = {}
    saved = learner.test_inner_steps
    try:
        for count in steps:
            learner.test_inner_steps = count
            results[count] = evaluate(learner, dataset, shots=shots, queries=queries, episodes=episodes, seed=seed)
    finally:
        learner.test_inner_steps = saved
    return results


def meta_gradient_agreement(learner, sampler, inner_lrs=(0.05, 0.1, 0.2, 0.4), batches: int = 10) -> dict:
    """{inner_lr: [batches] cosines}: how closely first-order MAML's meta-gradient points where MAML's does.

    For each inner step size alpha and each of the same `batches` meta-batches of `sampler` (sample_batch(4), drawn
    once, so that the step sizes compare on the same tasks), the meta-gradient of the mean query loss with respect to
    all meta-parameters is taken twice at the learner's weights: through the inner loop (MAML, with the term
    -alpha H_S grad L_Q) and with the inner gradient held constant (first order). The cosine of the angle between
    them is 1 when the dropped second-order term is negligible."""
    twin = copy.deepcopy(learner).train()  # a copy, so that the learner's own step size and order stay as they are
    weights = [weight for weight in twin.parameters() if weight.requires_grad]
    meta_batches = [sampler.sample_batch(4) for _ in range(batches)]
    cosines = {}
    for inner_lr in inner_lrs:
        twin.inner_lr, cosines[inner_lr] = inner_lr, []
        for batch in meta_batches:
            gradients = []
            for first_order in (False, True):
                twin.first_order = first_order
                loss, _ = twin.training_loss(batch)
                gradients.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, weights)]))  # [weights]
            cosines[inner_lr].append(torch.nn.functional.cosine_similarity(*gradients, dim=0).item())
    return cosines


def plot_error_by_steps(results: dict, reference: dict | None = None):
    """Mean squared error (95% CI) against adaptation steps, a line per learner; reference: {name: {steps: value}}
    drawn as markers (the paper's figures, say)."""
    figure, ax = plt.subplots(figsize=(5.5, 3.4))
    for name, by_steps in results.items():
        steps = list(by_steps)
        means = np.array([by_steps[s].mean for s in steps])
        spread = np.array([by_steps[s].ci95 for s in steps])
        (line,) = ax.plot(steps, means, marker="o", ms=3, label=name)
        ax.fill_between(steps, means - spread, means + spread, color=line.get_color(), alpha=0.2)
    for name, points in (reference or {}).items():
        ax.scatter(list(points), list(points.values()), marker="x", s=40, color="black", zorder=3, label=name)
    ax.set_xlabel("gradient steps on the support set")
    ax.set_ylabel("mean squared error on test waves")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_parameter_space(learner, sampler, tasks: int = 12, far_steps: int = 50):
    """The meta-learned initial weights theta as one point shared by every task, the weights theta'_i after one
    inner step on each task (arrows), and after `far_steps` steps (dots, where each task is heading), in
    the plane of the two principal directions of those moves (a 2-D slice of parameter space)."""
    with evaluation_mode(learner):
        theta = torch.cat([w.detach().flatten() for w in learner.fast_parameters().values()])
        one_step, far, amplitudes = [], [], []
        for task in sampler.take(tasks):
            for steps, store in ((1, one_step), (far_steps, far)):
                adapted = learner.inner_loop(task.support_x, task.support_y, steps=steps)
                store.append(torch.cat([w.detach().flatten() for w in adapted.values()]) - theta)
            amplitudes.append(float(task.amplitude))
    moves = torch.stack(one_step + far)  # [2 * tasks, parameters], relative to theta
    _, _, directions = torch.linalg.svd(moves - moves.mean(0), full_matrices=False)
    plane = (moves @ directions[:2].T).numpy()  # [2 * tasks, 2]
    first, last = plane[:tasks], plane[tasks:]
    figure, ax = plt.subplots(figsize=(5.2, 4.4))
    colours = plt.get_cmap("plasma")(np.array(amplitudes) / 5.0)
    for start, end, colour in zip(first, last, colours):
        ax.annotate("", xy=start, xytext=(0, 0), arrowprops=dict(arrowstyle="->", color=colour, lw=1.5))
        ax.plot([start[0], end[0]], [start[1], end[1]], color=colour, lw=0.8, ls=":")
    ax.scatter(last[:, 0], last[:, 1], c=colours, s=25, label=f"after {far_steps} steps")
    ax.scatter([0], [0], marker="*", s=250, color="black", zorder=3, label="theta: the shared initial weights")
    ax.set_xlabel("principal direction 1 of the moves")
    ax.set_ylabel("principal direction 2")
    ax.set_title("one inner step per task (arrows), coloured by the wave's amplitude", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    figure.tight_layout()
    return figure

"""Section 7.2 made runnable: the families of meta-learning, each a small seeded experiment on sine waves.

The book sorts meta-learning by what is shared across tasks and what each task learns alone:

- partition the parameters into shared meta-parameters and task-specific ones (a shared body with a head per
  task; MAML and ANIL are two settings of one dial: which parameters the inner loop adapts), see
  `dial_experiment` and `parameter_partition`;
- learn a constraint every task obeys, for example how gradients are scaled before a step (Meta-SGD's learned
  per-weight learning rates, Li et al. 2017: theta' = theta - alpha (*) grad L_S), see `plot_step_sizes`;
- and the other axes: tasks learned one after another or together (`fit_multitask`, and what sequential
  learning forgets), tasks weighted by their similarity to a new task (`similarity_weighting`), tasks that
  share their inputs or their targets (`sharing_experiment`).

FAMILIES maps every method of the package to its family. Every experiment takes a seed and a fixed number of
steps, so a notebook prints the same numbers on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from fewshot_lab.data.sinusoid import SinusoidFamily
from fewshot_lab.evaluation import confidence_interval, evaluate

# method -> (family, section of the book, what is meta-learned, what each task learns)
FAMILIES = {
    "knn": (
        "pretrained embedding (baseline)",
        "7.4",
        "an embedding, by ordinary classification",
        "nothing: nearest neighbour",
    ),
    "finetune": (
        "pretrained embedding (baseline)",
        "7.4",
        "an embedding, by ordinary classification",
        "a new head, by SGD",
    ),
    "protonet": ("metric learning", "7.5", "an embedding", "class prototypes (means)"),
    "matching": (
        "metric learning (attention)",
        "7.5",
        "an embedding (and context encoders)",
        "nothing: attention over the support set",
    ),
    "mann": ("memory (model-based)", "7.6", "a controller and its memory access", "the contents of an external memory"),
    "lstm": ("memory (model-based)", "7.6", "a recurrent network", "its hidden state"),
    "ntm": (
        "memory (model-based)",
        "7.6",
        "a controller and its content and location addressing",
        "the contents of its memory (a copy task)",
    ),
    "lstm-copy": ("memory (model-based)", "7.6", "a recurrent network", "its hidden state (a copy task)"),
    "memnet": (
        "memory (attention over stored items)",
        "7.6",
        "the embeddings of sentences and questions",
        "nothing: attention over the story in its memory",
    ),
    "metalstm": (
        "learned optimizer",
        "7.7",
        "an update rule (LSTM) and the initial weights",
        "weights, by the learned rule",
    ),
    "maml": (
        "learned initialisation: partition, all weights adapt",
        "7.8",
        "the initial weights",
        "every weight, by SGD",
    ),
    "fomaml": (
        "learned initialisation: partition, all weights adapt",
        "7.8",
        "the initial weights (first order)",
        "every weight, by SGD",
    ),
    "anil": (
        "learned initialisation: partition, head adapts",
        "7.8",
        "the body and the head's initial weights",
        "the head only, by SGD",
    ),
    "metasgd": (
        "learned constraint: preconditioned gradients",
        "7.8",
        "initial weights and a step size per weight",
        "every weight, by the learned steps",
    ),
    "reptile": ("learned initialisation (no meta-gradient)", "7.8", "the initial weights", "every weight, by SGD"),
}


def family_table() -> str:
    """FAMILIES as a plain-text table, one row per method of fewshot_lab.methods.METHODS."""
    from fewshot_lab.methods import METHODS

    missing = sorted(set(METHODS) - set(FAMILIES))
    if missing:
        raise KeyError(f"no family recorded for {', '.join(missing)}: add them to fewshot_lab.lessons.s72.FAMILIES")
    header = ("method", "family", "§", "meta-learned (shared by all tasks)", "learned per task")
    rows = [header] + [(method, *FAMILIES[method]) for method in METHODS]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


# ---- (a) partition: which parameters adapt --------------------------------------------------------------

DIAL = {  # label -> (method, options): the dial of what the inner loop adapts
    "nothing adapts (pretrained)": ("maml", {"inner_steps": 0}),
    "head adapts (ANIL)": ("anil", {}),
    "every weight adapts (MAML)": ("maml", {}),
    "every weight, learned steps (Meta-SGD)": ("metasgd", {}),
}


def sinusoid_learner(method: str, inner_lr: float = 0.01, **options):
    """A MAML-family learner for sine waves: the paper's MLP (two hidden layers of 40) and a 1-output head."""
    from fewshot_lab.methods import build_learner

    return build_learner(method, backbone="mlp", in_channels=1, image_size=1, ways=1, inner_lr=inner_lr, **options)


def parameter_partition(learner) -> dict:
    """{"adapted per task": weights, "shared by every task": weights}: what the inner loop changes and what only
    the outer loop does (Meta-SGD's step sizes count as shared). A learner that takes no gradient step when it adapts
    (inner_steps=0: pretrained on all tasks, used as it is) adapts none."""
    steps = learner.inner_steps if learner.test_inner_steps is None else learner.test_inner_steps
    adapted = sum(weight.numel() for weight in learner.fast_parameters().values()) if steps > 0 else 0
    total = sum(weight.numel() for weight in learner.parameters())
    return {"adapted per task": adapted, "shared by every task": total - adapted}


def dial_experiment(
    steps: int = 1000, shots: int = 5, episodes: int = 100, meta_batch: int = 5, seed: int = 0, settings: dict = DIAL
) -> dict:
    """Meta-train one sine-wave learner per setting of the dial for `steps` steps (same seed, same tasks), and
    score each on the same `episodes` test waves after one adaptation step (the pretrained network: none).
    Returns {label: (learner, Evaluation)}."""
    from fewshot_lab.engine import meta_train

    sinusoid = SinusoidFamily()
    results = {}
    for label, (method, options) in settings.items():
        torch.manual_seed(seed)
        learner = sinusoid_learner(method, **options)
        meta_train(
            learner,
            sinusoid,
            shots=shots,
            queries=shots,
            meta_batch=meta_batch,
            steps=steps,
            val_every=steps,
            val_episodes=20,
            seed=seed,
            progress=False,
            device="cpu",
        )
        results[label] = (learner, evaluate(learner, sinusoid, shots=shots, queries=25, episodes=episodes, seed=seed))
    return results


def plot_dial(results: dict):
    """Test error (95% CI) of each dial setting, and how many weights each adapts per task."""
    labels = list(results)
    figure, (error_ax, count_ax) = plt.subplots(1, 2, figsize=(11, 3.2), gridspec_kw={"width_ratios": [3, 2]})
    means = [results[label][1].mean for label in labels]
    error_ax.barh(labels, means, xerr=[results[label][1].ci95 for label in labels], color="tab:blue", capsize=3)
    error_ax.invert_yaxis()
    error_ax.set_xlabel("test mean squared error after adapting (95% CI)")
    counts = [parameter_partition(results[label][0]) for label in labels]
    adapted = [count["adapted per task"] for count in counts]
    shared = [count["shared by every task"] for count in counts]
    count_ax.barh(labels, adapted, color="tab:orange", label="adapted per task")
    count_ax.barh(labels, shared, left=adapted, color="tab:grey", label="shared (outer loop only)")
    count_ax.invert_yaxis()
    count_ax.set_yticks([])
    count_ax.set_xlabel("weights")
    count_ax.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return figure


# ---- (b) a learned constraint: preconditioned gradient steps ------------------------------------------------


def plot_step_sizes(metasgd):
    """Meta-SGD's learned step size alpha of every weight, one strip per parameter tensor, against the
    starting value inner_lr: one rule for how every task's gradient is scaled, learned once for all tasks."""
    names = list(metasgd.fast_parameters())
    figure, ax = plt.subplots(figsize=(8, 3.2))
    rng = np.random.default_rng(0)
    for position, alpha in enumerate(metasgd.alpha):
        values = alpha.detach().flatten().numpy()
        ax.scatter(position + rng.uniform(-0.25, 0.25, len(values)), values, s=6, alpha=0.5)
    ax.axhline(metasgd.inner_lr, color="black", ls="--", lw=1, label=f"start: inner_lr = {metasgd.inner_lr:g}")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xticks(range(len(names)), [name.replace("network.", "") for name in names], fontsize=8)
    ax.set_ylabel("learned step size alpha")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


# ---- (c) sequential or parallel, shared inputs or shared targets: several tasks in one network ------------------


@dataclass
class RegressionTask:
    """A few training points of a 1-d function and a dense grid to measure the error on."""

    x: torch.Tensor  # [points, 1]
    y: torch.Tensor  # [points, 1]
    grid_x: torch.Tensor  # [200, 1]
    grid_y: torch.Tensor  # [200, 1]


def _task(function, points: int, rng: np.random.Generator) -> RegressionTask:
    """`points` training inputs spread over [-5, 5] (evenly spaced, jittered), so that no gap decides the error."""
    spacing = 10 / points
    x = torch.from_numpy(-5 + spacing * (np.arange(points) + rng.uniform(0, 1, points))).float().unsqueeze(1)
    grid = torch.linspace(-5, 5, 200).unsqueeze(1)
    return RegressionTask(x, function(x), grid, function(grid))


def tasks_sharing_inputs(count: int = 4, points: int = 10, seed: int = 0) -> list[RegressionTask]:
    """Waves y = A_i sin(x - phase_i) on one input range: the same inputs, different targets per task."""
    rng = np.random.default_rng(seed)
    waves = [(rng.uniform(1, 5), rng.uniform(0, math.pi)) for _ in range(count)]
    return [_task(lambda x, a=a, p=p: a * torch.sin(x - p), points, rng) for a, p in waves]


def tasks_sharing_targets(count: int = 4, points: int = 10, seed: int = 0) -> list[RegressionTask]:
    """One target function y = 3 sin(x) seen through a different input encoding per task, u = (x - shift_i) / scale_i:
    the same targets, different inputs (each task's x is its own encoding u)."""
    rng = np.random.default_rng(seed)
    encodings = [(rng.uniform(0.7, 1.4), rng.uniform(-2, 2)) for _ in range(count)]
    return [_task(lambda u, s=s, b=b: 3 * torch.sin(s * u + b), points, rng) for s, b in encodings]


ARRANGEMENTS = {  # label -> the parts of the network every task shares
    "independent networks": (),
    "shared body, a head per task": ("encoder", "body"),
    "an input encoder per task, shared rest": ("body", "head"),
}


def _identity_encoder() -> nn.Linear:
    """x -> 1 * x + 0 to start with: an encoder learns how its task's inputs differ from the shared ones."""
    encoder = nn.Linear(1, 1)
    with torch.no_grad():
        encoder.weight.fill_(1.0)
        encoder.bias.zero_()
    return encoder


class MultiTaskNetwork(nn.Module):
    """Several 1-d regression tasks in one network: encoder (an affine map of the input, x -> w x + b), body (two
    layers of 40 ReLU units) and head (linear, 40 -> 1), each part either shared by every task or one copy per
    task (`shared` names the shared parts)."""

    def __init__(self, tasks: int, shared=("encoder", "body"), hidden: int = 40):
        super().__init__()
        unknown = set(shared) - {"encoder", "body", "head"}
        if unknown:
            raise ValueError(f"shared parts are among encoder, body and head; got {sorted(unknown)}")
        self.shared = tuple(shared)
        makers = {
            "encoder": _identity_encoder,
            "body": lambda: nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()),
            "head": lambda: nn.Linear(hidden, 1),
        }
        self.parts = nn.ModuleDict(
            {
                name: nn.ModuleList(make() for _ in range(1 if name in shared else tasks))
                for name, make in makers.items()
            }
        )

    def part(self, name: str, task: int) -> nn.Module:
        return self.parts[name][0 if name in self.shared else task]

    def forward(self, x: torch.Tensor, task: int) -> torch.Tensor:
        encoded = self.part("encoder", task)(x)  # [points, 1]
        features = self.part("body", task)(encoded)  # [points, hidden]
        return self.part("head", task)(features)  # [points, 1]


def grid_errors(network: MultiTaskNetwork, tasks: list[RegressionTask]) -> np.ndarray:
    """[tasks] mean squared error of the network on each task's dense grid."""
    with torch.no_grad():
        return np.array(
            [
                nn.functional.mse_loss(network(task.grid_x, index), task.grid_y).item()
                for index, task in enumerate(tasks)
            ]
        )


def fit_multitask(
    network: MultiTaskNetwork,
    tasks: list[RegressionTask],
    steps: int = 300,
    order: str = "parallel",
    lr: float = 0.01,
    record_every: int = 10,
) -> np.ndarray:
    """Train `network` on `tasks` with Adam for `steps` steps in all: "parallel" minimises the sum of every
    task's loss at each step; "sequential" spends steps / len(tasks) steps on each task in turn, never
    returning to it. Returns the grid errors [records, tasks], recorded every `record_every` steps."""
    if order not in ("parallel", "sequential"):
        raise ValueError(f"order must be 'parallel' or 'sequential', got {order!r}")
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    phase = max(1, steps // len(tasks))
    records = [grid_errors(network, tasks)]
    for step in range(steps):
        chosen = range(len(tasks)) if order == "parallel" else [min(step // phase, len(tasks) - 1)]
        loss = sum(nn.functional.mse_loss(network(tasks[index].x, index), tasks[index].y) for index in chosen)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (step + 1) % record_every == 0:
            records.append(grid_errors(network, tasks))
    return np.stack(records)


def plot_sequential_and_parallel(errors: dict, record_every: int = 10):
    """errors: {order: [records, tasks]} from fit_multitask; a panel per order, a line per task (log scale)."""
    figure, axes = plt.subplots(1, len(errors), figsize=(5 * len(errors), 3.2), sharey=True, squeeze=False)
    for ax, (order, values) in zip(axes[0], errors.items()):
        steps = np.arange(len(values)) * record_every
        for task in range(values.shape[1]):
            ax.plot(steps, values[:, task], label=f"task {task + 1}")
        ax.set_yscale("log")
        ax.set_title(f"{order}: final errors " + ", ".join(f"{value:.2f}" for value in values[-1]), fontsize=9)
        ax.set_xlabel("training step")
    axes[0][0].set_ylabel("grid mean squared error")
    axes[0][-1].legend(fontsize=8)
    figure.tight_layout()
    return figure


def sharing_experiment(count: int = 6, points: int = 8, steps: int = 600, seeds=(0, 1, 2)) -> dict:
    """{(kind, arrangement): [grid error averaged over the tasks, one per seed]}, for tasks that share inputs and
    tasks that share targets, each fitted in parallel (`points` points per task) by every arrangement of
    ARRANGEMENTS; each seed draws new tasks and a new initialisation."""
    kinds = {"tasks share inputs": tasks_sharing_inputs, "tasks share targets": tasks_sharing_targets}
    results = {}
    for kind, make in kinds.items():
        for arrangement, shared in ARRANGEMENTS.items():
            results[kind, arrangement] = []
            for seed in seeds:
                tasks = make(count, points, seed)
                torch.manual_seed(seed)
                network = MultiTaskNetwork(count, shared)
                results[kind, arrangement].append(
                    float(fit_multitask(network, tasks, steps, record_every=steps)[-1].mean())
                )
    return results


def sharing_table(results: dict) -> str:
    """sharing_experiment's results: a row per arrangement, a column per kind of task, the median error over
    the seeds with its range."""
    kinds = list(dict.fromkeys(kind for kind, _ in results))
    arrangements = list(dict.fromkeys(arrangement for _, arrangement in results))
    width = max(map(len, arrangements))

    def cell(values) -> str:
        return f"{np.median(values):.2f} ({min(values):.2f} to {max(values):.2f})"

    lines = [" " * width + "  " + "  ".join(f"{kind:>24}" for kind in kinds)]
    lines += [
        f"{arrangement:<{width}}  " + "  ".join(f"{cell(results[kind, arrangement]):>24}" for kind in kinds)
        for arrangement in arrangements
    ]
    return "\n".join(lines)


# ---- (c) tasks weighted by their similarity to a new task -------------------------------------------------------


def similarity_weights(source_errors: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(-error / temperature) over the source tasks: a source task that fits the new task's support set
    well counts more. [sources] -> [sources]; temperature -> infinity gives uniform weights, -> 0 the nearest."""
    return torch.softmax(-source_errors / temperature, dim=-1)


def similarity_weighting(
    sources: int = 20, shots: int = 5, episodes: int = 100, temperatures=(math.inf, 1.0, 1e-6), seed: int = 0
) -> dict:
    """Predict a new sine wave from `shots` points with no training at all, as the similarity-weighted mean of
    `sources` known waves (meta-train tasks). Returns {temperature: (mean test error, 95% CI)} over the same
    `episodes` test waves: inf weights every source task alike, a small temperature trusts the nearest."""
    family = SinusoidFamily()
    source_waves = _source_waves(family, sources, seed)
    errors = {temperature: [] for temperature in temperatures}
    for task in family.sampler("test", shots=shots, queries=50, seed=seed).take(episodes):
        for temperature in temperatures:
            prediction, _ = weighted_prediction(family, source_waves, task, temperature)
            errors[temperature].append(torch.mean((prediction - task.query_y) ** 2).item())
    return {
        temperature: (float(np.mean(values)), confidence_interval(values)) for temperature, values in errors.items()
    }


def _source_waves(family: SinusoidFamily, sources: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(amplitude, phase) of `sources` meta-train waves."""
    return [
        (task.amplitude, task.phase) for task in family.sampler("train", shots=1, queries=0, seed=seed).take(sources)
    ]


def weighted_prediction(family, source_waves, task, temperature: float, x: torch.Tensor | None = None):
    """(prediction at x (default: the task's queries), weights [sources]) of the similarity-weighted mean."""
    x = task.query_x if x is None else x
    support_errors = torch.stack(
        [torch.mean((family.wave(task.support_x, a, p) - task.support_y) ** 2) for a, p in source_waves]
    )  # [sources]
    weights = similarity_weights(support_errors, temperature)
    curves = torch.stack([family.wave(x, a, p) for a, p in source_waves])  # [sources, points, 1]
    return (weights[:, None, None] * curves).sum(0), weights


def plot_similarity_weighting(sources: int = 20, shots: int = 5, temperature: float = 1.0, seed: int = 0):
    """One new wave: its support points, the source waves shaded by their weight, and the weighted prediction."""
    family = SinusoidFamily()
    source_waves = _source_waves(family, sources, seed)
    task = next(family.sampler("test", shots=shots, queries=0, seed=seed).take(1))
    x = torch.linspace(*family.x_range, 200).unsqueeze(1)  # [200, 1]
    prediction, weights = weighted_prediction(family, source_waves, task, temperature, x)
    uniform, _ = weighted_prediction(family, source_waves, task, math.inf, x)
    figure, ax = plt.subplots(figsize=(7, 3.4))
    for (a, p), weight in zip(source_waves, weights / weights.max()):
        ax.plot(x, family.wave(x, a, p), color="tab:blue", alpha=0.1 + 0.8 * float(weight), lw=1)
    ax.plot(x, family.wave(x, task.amplitude, task.phase), color="black", lw=2, label="new task's wave")
    ax.plot(x, prediction, color="tab:red", lw=2, ls="--", label=f"similarity-weighted (temperature {temperature:g})")
    ax.plot(x, uniform, color="tab:grey", lw=2, ls=":", label="every source task alike")
    ax.scatter(task.support_x, task.support_y, color="red", zorder=3, label=f"{shots} support points")
    ax.set_xlabel("x")
    ax.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    return figure

"""Figures the notebooks draw: tasks as image grids, classes of a split, per-task scores, hypothesis spaces.

Every function draws into new matplotlib axes and returns the figure, so a notebook cell stays one line.
"""
from __future__ import annotations

import functools
import math

import matplotlib.pyplot as plt
from matplotlib import font_manager, ft2font
import numpy as np
import torch

from fewshot_lab.data.dataset import FewShotDataset


def _show(ax, image: torch.Tensor, title: str | None = None, colour: str = "black"):
    picture = image.detach().cpu().float()
    picture = picture[0] if picture.shape[0] == 1 else picture.permute(1, 2, 0)
    ax.imshow(picture.numpy(), cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8, color=colour)


def show_task(task, dataset: FewShotDataset | None = None, max_queries: int = 3, predictions=None):
    """One task as a grid: a row per label with its support images, then some of its query images.

    With `predictions` (one label per query), wrong query predictions are titled in red.
    """
    ways = task.ways
    shots = len(task.support_y) // ways
    queries = [torch.nonzero(task.query_y == label).flatten()[:max_queries] for label in range(ways)]
    columns = shots + max(len(q) for q in queries)
    figure, axes = plt.subplots(ways, columns, figsize=(1.1 * columns + 1.5, 1.15 * ways), squeeze=False)
    for label in range(ways):
        name = dataset.classes[int(task.classes[label])].name if dataset is not None else f"class {int(task.classes[label])}"
        for shot in range(shots):
            _show(axes[label, shot], task.support_x[label * shots + shot], "support" if label == 0 else None)
        axes[label, 0].set_ylabel(f"label {label}\n{_short(name)}", fontsize=8, rotation=0, ha="right", va="center")
        for column in range(shots, columns):
            axes[label, column].axis("off")
        for offset, index in enumerate(queries[label].tolist()):
            title, colour = ("query" if label == 0 else None), "black"
            if predictions is not None:
                predicted = int(predictions[index])
                title, colour = f"→ {predicted}", ("black" if predicted == label else "red")
            axes[label, shots + offset].axis("on")
            _show(axes[label, shots + offset], task.query_x[index], title, colour)
    figure.suptitle(f"{ways}-way {shots}-shot task: support (left) and query images (right)", fontsize=10)
    figure.tight_layout()
    return figure


def _short(name: str, width: int = 22) -> str:
    """A label that fits and that the default font can draw (glyph class names hold rare characters)."""
    drawable = _default_font_characters()
    name = "".join(character for character in name if ord(character) in drawable).strip()
    return name if len(name) <= width else name[:width - 1] + "…"


@functools.cache
def _default_font_characters() -> frozenset[int]:
    font = font_manager.findfont(font_manager.FontProperties(family=plt.rcParams["font.family"]))
    return frozenset(ft2font.FT2Font(font).get_charmap())


def show_split(dataset: FewShotDataset, split: str, groups: int = 6, per_group: int = 8):
    """The first image of a few classes of each of some alphabets (groups) of one meta-split."""
    by_group = dataset.groups(split)
    chosen = list(by_group)[:groups]
    figure, axes = plt.subplots(len(chosen), per_group, figsize=(per_group * 0.9 + 1.5, len(chosen) * 0.95),
                                squeeze=False)
    for row, group in enumerate(chosen):
        for column in range(per_group):
            ax = axes[row, column]
            if column < len(by_group[group]):
                first_image = dataset.image_indices(by_group[group][column])[0]
                _show(ax, dataset.as_float(first_image[None])[0])
            else:
                ax.axis("off")
        axes[row, 0].set_ylabel(_short(group, 16), fontsize=8, rotation=0, ha="right", va="center")
    figure.suptitle(f"{dataset.name}, {split} split: {len(dataset.splits[split])} classes in {len(by_group)} alphabets",
                    fontsize=10)
    figure.tight_layout()
    return figure


def show_class(dataset: FewShotDataset, class_index: int, images: int = 10):
    """Several images of one class: how much one character varies between drawers."""
    indices = dataset.image_indices(class_index)[:images]
    figure, axes = plt.subplots(1, len(indices), figsize=(len(indices) * 0.9, 1.2), squeeze=False)
    for ax, index in zip(axes[0], indices):
        _show(ax, dataset.as_float(index[None])[0])
    figure.suptitle(_short(dataset.classes[class_index].name, 60), fontsize=9)
    figure.tight_layout()
    return figure


def compare_per_task(evaluations: dict, reference: str | None = None):
    """Per-task scores of several learners on the same seeded tasks: sorted curves, and paired differences."""
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
            right.hist(evaluations[name].values - baseline, bins=21, alpha=0.6, label=f"{name} − {reference}")
    right.axvline(0, color="black", linewidth=1)
    right.set_xlabel("accuracy difference on the same task")
    right.set_ylabel("tasks")
    right.legend(fontsize=8)
    figure.tight_layout()
    return figure


def consistent_waves(family, support_x: torch.Tensor, support_y: torch.Tensor, tolerance: float = 0.1,
                     grid: int = 200) -> torch.Tensor:
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
    features = lambda points: torch.cat([torch.cos(points * k + b) for k, b in zip(*_random_frequencies(rng))], 1)
    for _ in range(generic_curves):
        design = features(support_x)  # random smooth basis, fitted to pass through the support points
        weights = torch.linalg.lstsq(design, support_y).solution
        weights = weights + torch.from_numpy(_null_space_draw(design.numpy(), rng)).float()[:, None]
        left.plot(x, features(x) @ weights, color="tab:gray", alpha=0.35, linewidth=1)
    waves = consistent_waves(family, support_x, support_y)
    for amplitude, phase in waves[torch.from_numpy(rng.permutation(len(waves))[:generic_curves])]:
        right.plot(x, family.wave(x, amplitude, phase), color="tab:blue", alpha=0.35, linewidth=1)
    for ax, title in ((left, "any smooth function through the support points"),
                      (right, f"only waves of the task family: {len(waves)} of {200 * 200} (A, phase) fit")):
        ax.plot(x, family.wave(x, task.amplitude, task.phase), color="black", linestyle="--", label="true task")
        ax.scatter(support_x, support_y, color="red", zorder=3, label="support set")
        ax.set_title(title, fontsize=9)
        ax.set_ylim(-6, 6)
    left.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    return figure


def _random_frequencies(rng: np.random.Generator, basis: int = 12):
    return (torch.from_numpy(rng.uniform(0.2, 2.5, basis)).float(), torch.from_numpy(rng.uniform(0, math.tau, basis)).float())


def _null_space_draw(design: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random direction that leaves the values at the support points unchanged."""
    _, _, vt = np.linalg.svd(design)
    null = vt[design.shape[0]:]  # [basis - shots, basis]
    return null.T @ rng.normal(size=len(null))

"""The comparison on one slide: accuracy against meta-training time, a point per method (fewshot_lab.compare)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from fewshot_lab.paths import atomic_path


def plot_accuracy_against_training_time(comparison, ways: int | None = None, shots: int | None = None):
    """One panel per dataset: test accuracy (95% CI) against meta-training time, one labelled point per run,
    at the setting ways x shots (default: the first setting of the comparison)."""
    scored = [cell for cell in comparison.cells if not cell.skipped]
    if not scored:
        raise ValueError("the comparison has no scored cell to plot")
    ways = ways or scored[0].ways
    shots = shots or scored[0].shots
    cells = [cell for cell in scored if (cell.ways, cell.shots) == (ways, shots)]
    if not cells:
        settings = sorted({f"{cell.ways}-way {cell.shots}-shot" for cell in scored})
        raise ValueError(f"no run was scored at {ways}-way {shots}-shot; the comparison has {', '.join(settings)}")
    datasets = list(dict.fromkeys(cell.dataset for cell in cells))
    figure, axes = plt.subplots(1, len(datasets), figsize=(5.2 * len(datasets), 3.8), squeeze=False, sharey=True)
    colours = plt.get_cmap("tab10")
    methods = list(dict.fromkeys(cell.method for cell in cells))
    for ax, dataset in zip(axes[0], datasets):
        for cell in (cell for cell in cells if cell.dataset == dataset):
            minutes = max(cell.training_seconds / 60, 1e-2)
            colour = colours(methods.index(cell.method) % 10)
            ax.errorbar(minutes, 100 * cell.accuracy, yerr=100 * cell.ci95, fmt="o", color=colour, capsize=3)
            ax.annotate(cell.run, (minutes, 100 * cell.accuracy), textcoords="offset points", xytext=(5, 4),
                        fontsize=8, color=colour)
        ax.set_xscale("log")
        ax.set_xlabel("meta-training time (minutes, log scale)")
        ax.set_title(f"{dataset}: {ways}-way {shots}-shot", fontsize=10)
        ax.axhline(100 / ways, color="grey", lw=0.8, ls=":")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"test accuracy (%), {comparison.episodes} tasks, 95% CI")
    figure.tight_layout()
    return figure


def save_accuracy_against_training_time(comparison, path, ways: int | None = None, shots: int | None = None) -> Path:
    """Draw the figure into a PNG at `path`, atomically (the grey dotted line is chance)."""
    path = Path(path)
    figure = plot_accuracy_against_training_time(comparison, ways, shots)
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png", dpi=120)
    finally:
        plt.close(figure)
    return path


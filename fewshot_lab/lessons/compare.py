"""The comparison on one slide: accuracy against meta-training time, a point per method (fewshot_lab.compare), as
notebooks/compare.ipynb draws it and `fewshot-lab compare --figure` saves it."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from fewshot_lab.paths import atomic_path


def plot_accuracy_against_training_time(comparison, ways: int | None = None, shots: int | None = None):
    """One panel per dataset: test accuracy (95% CI) against meta-training time, one point per method, at the
    setting ways x shots (default: the first setting of the comparison). A method trained once per number of
    ways (a MAML-family head) is drawn from its run trained at this setting's ways. The comparison's budget, if it
    records one, is the figure's title."""
    scored = [cell for cell in comparison.cells if not cell.skipped]
    if not scored:
        raise ValueError("the comparison has no scored cell to plot")
    ways = ways or scored[0].ways
    shots = shots or scored[0].shots
    cells = [cell for cell in scored if (cell.ways, cell.shots) == (ways, shots)]
    if not cells:
        settings = sorted({f"{cell.ways}-way {cell.shots}-shot" for cell in scored})
        raise ValueError(f"no run was scored at {ways}-way {shots}-shot; the comparison has {', '.join(settings)}")
    matched = {(cell.dataset, cell.method) for cell in cells if cell.trained_ways == ways}
    cells = [cell for cell in cells if cell.trained_ways == ways or (cell.dataset, cell.method) not in matched]
    datasets = list(dict.fromkeys(cell.dataset for cell in cells))
    methods = list(dict.fromkeys(cell.method for cell in cells))
    minutes = [max(cell.training_seconds / 60, 1e-2) for cell in cells]
    figure, axes = plt.subplots(
        1, len(datasets), figsize=(4.6 * len(datasets) + 1.6, 3.9), squeeze=False, sharex=True, sharey=True
    )
    colours = plt.get_cmap("tab20" if len(methods) > 10 else "tab10")
    markers = "osD^v<>pPX*h"
    for ax, dataset in zip(axes[0], datasets):
        for cell, minute in ((cell, minute) for cell, minute in zip(cells, minutes) if cell.dataset == dataset):
            index = methods.index(cell.method)
            twins = sum(other.method == cell.method and other.dataset == cell.dataset for other in cells)
            label = cell.run if twins > 1 else cell.method  # two runs of one method at this setting: name the run
            ax.errorbar(
                minute,
                100 * cell.accuracy,
                yerr=100 * cell.ci95,
                fmt=markers[index % len(markers)],
                color=colours(index % colours.N),
                capsize=3,
                markersize=6,
                label=label,
            )
        ax.set_xscale("log")
        ax.set_xlim(min(minutes) / 1.6, max(minutes) * 1.6)  # every panel on one time axis, with room for the bars
        ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("meta-training time (minutes, log scale)")
        ax.set_title(f"{dataset}: {ways}-way {shots}-shot", fontsize=10)
        ax.axhline(100 / ways, color="grey", lw=0.8, ls=":")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"test accuracy (%), {comparison.episodes} tasks, 95% CI")
    axes[0][-1].legend(*_legend(axes[0]), loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, frameon=False)
    if comparison.budget:
        figure.suptitle(f"meta-training budget: {comparison.budget}", fontsize=9, wrap=True)
    figure.tight_layout()
    return figure


def _legend(axes):
    """Handles and labels of every panel, each label once."""
    seen = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    return list(seen.values()), list(seen)


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

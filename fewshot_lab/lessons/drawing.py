"""How the notebooks draw images: one image on its axes, a task as a grid of its support and query images, labels
the default font can draw, a colour per label, and a figure as PNG bytes for a widget (the one figure-to-widget
helper: a widget shows a picture, not an output area, so notebooks replay it exactly)."""

from __future__ import annotations

import functools
import io

import matplotlib.pyplot as plt
import torch
from matplotlib import font_manager, ft2font

from fewshot_lab.data.dataset import FewShotDataset


def show_image(ax, image: torch.Tensor, title: str | None = None, colour: str = "black"):
    """One image [C, H, W] (ink high, in [0, 1]) on `ax`, dark strokes on white, without ticks."""
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
        name = (
            dataset.classes[int(task.classes[label])].name
            if dataset is not None
            else f"class {int(task.classes[label])}"
        )
        for shot in range(shots):
            show_image(axes[label, shot], task.support_x[label * shots + shot], "support" if label == 0 else None)
        axes[label, 0].set_ylabel(
            f"label {label}\n{short_label(name)}", fontsize=8, rotation=0, ha="right", va="center"
        )
        for column in range(shots, columns):
            axes[label, column].axis("off")
        for offset, index in enumerate(queries[label].tolist()):
            title, colour = ("query" if label == 0 else None), "black"
            if predictions is not None:
                predicted = int(predictions[index])
                title, colour = f"→ {predicted}", ("black" if predicted == label else "red")
            axes[label, shots + offset].axis("on")
            show_image(axes[label, shots + offset], task.query_x[index], title, colour)
    figure.suptitle(f"{ways}-way {shots}-shot task: support (left) and query images (right)", fontsize=10)
    figure.tight_layout()
    return figure


def short_label(name: str, width: int = 22) -> str:
    """A label that fits and that the default font can draw (glyph class names hold rare characters)."""
    drawable = _default_font_characters()
    name = "".join(character for character in name if ord(character) in drawable).strip()
    return name if len(name) <= width else name[: width - 1] + "…"


@functools.cache
def _default_font_characters() -> frozenset[int]:
    font = font_manager.findfont(font_manager.FontProperties(family=plt.rcParams["font.family"]))
    return frozenset(ft2font.FT2Font(font).get_charmap())


def label_colours(labels, count: int):
    """A colour per label, from a palette of `count` classes."""
    palette = plt.get_cmap("tab10" if count <= 10 else "tab20")
    return [palette(int(label) % palette.N) for label in labels]


def figure_png(figure, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes for an ipywidgets.Image, the figure closed (no output message to capture)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return buffer.getvalue()

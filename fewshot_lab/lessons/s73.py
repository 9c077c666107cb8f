"""Section 7.3 (tasks): what a dataset's meta-splits hold, how much one class varies, and an explorer that draws
tasks of any shape from any dataset at hand."""

from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

from fewshot_lab.data import list_datasets, load_dataset
from fewshot_lab.data.dataset import SPLITS, FewShotDataset
from fewshot_lab.data.tasks import TaskSampler
from fewshot_lab.lessons.drawing import figure_png, short_label, show_image, show_task


def show_split(dataset: FewShotDataset, split: str, groups: int = 6, per_group: int = 8):
    """The first image of a few classes of each of some alphabets (groups) of one meta-split."""
    by_group = dataset.groups(split)
    chosen = list(by_group)[:groups]
    figure, axes = plt.subplots(
        len(chosen), per_group, figsize=(per_group * 0.9 + 1.5, len(chosen) * 0.95), squeeze=False
    )
    for row, group in enumerate(chosen):
        for column in range(per_group):
            ax = axes[row, column]
            if column < len(by_group[group]):
                first_image = dataset.image_indices(by_group[group][column])[0]
                show_image(ax, dataset.as_float(first_image[None])[0])
            else:
                ax.axis("off")
        axes[row, 0].set_ylabel(short_label(group, 16), fontsize=8, rotation=0, ha="right", va="center")
    figure.suptitle(
        f"{dataset.name}, {split} split: {len(dataset.splits[split])} classes in {len(by_group)} alphabets", fontsize=10
    )
    figure.tight_layout()
    return figure


def show_class(dataset: FewShotDataset, class_index: int, images: int = 10):
    """Several images of one class: how much one character varies between drawers."""
    indices = dataset.image_indices(class_index)[:images]
    figure, axes = plt.subplots(1, len(indices), figsize=(len(indices) * 0.9, 1.2), squeeze=False)
    for ax, index in zip(axes[0], indices):
        show_image(ax, dataset.as_float(index[None])[0])
    figure.suptitle(short_label(dataset.classes[class_index].name, 60), fontsize=9)
    figure.tight_layout()
    return figure


def image_datasets() -> list[str]:
    """The named image datasets that can be shown now without a download: glyphs, and any cached Omniglot."""
    return [row["name"] for row in list_datasets() if row["name"] == "glyphs" or row["cached"] is True]


class TaskExplorer:
    """Pick a dataset, ways, shots, queries, split and within-alphabet, and draw tasks with a button."""

    def __init__(self, datasets: list | None = None, seed: int = 0):
        """datasets: names to load, or loaded FewShotDatasets (a folder of one's own, say); default: all at hand."""
        self._loaded = {item.name: item for item in datasets or [] if not isinstance(item, str)}
        names = [item if isinstance(item, str) else item.name for item in datasets or image_datasets()]
        self.seed = seed
        self.dataset = widgets.Dropdown(options=names, description="dataset")
        self.split = widgets.ToggleButtons(options=list(SPLITS), value="train", description="split")
        self.ways = widgets.IntSlider(5, min=2, max=20, description="ways")
        self.shots = widgets.IntSlider(1, min=1, max=5, description="shots")
        self.queries = widgets.IntSlider(2, min=1, max=5, description="queries")
        self.within = widgets.Checkbox(False, description="within one alphabet")
        self.new_task = widgets.Button(description="new task", icon="refresh")
        self.picture = widgets.Image(format="png")  # the task, drawn as a PNG (no output messages to capture)
        self.note = widgets.HTML()
        controls = [self.dataset, self.split, self.ways, self.shots, self.queries, self.within]
        for control in controls:
            control.observe(lambda change: self.restart(), names="value")
        self.new_task.on_click(lambda button: self.draw())
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.dataset, self.split]),
                widgets.HBox([self.ways, self.shots, self.queries]),
                widgets.HBox([self.within, self.new_task]),
                self.note,
                self.picture,
            ]
        )
        self.restart()

    def restart(self):
        """Settings changed: a new sampler from the seed, and its first task."""
        name = self.dataset.value
        if name not in self._loaded:
            self._loaded[name] = load_dataset(name)
        self.sampler, self.message = None, ""
        try:
            self.sampler = TaskSampler(
                self._loaded[name],
                self.split.value,
                self.ways.value,
                self.shots.value,
                self.queries.value,
                within_alphabet=self.within.value,
                seed=self.seed,
            )
        except ValueError as error:  # e.g. more ways than the chosen alphabet has: shown, not raised
            self.message = str(error)
        self.draw()

    def draw(self):
        self.note.value = html.escape(self.message)
        if self.sampler is None:
            self.picture.layout.display = "none"
            return
        figure = show_task(self.sampler.sample(), self._loaded[self.dataset.value], max_queries=self.queries.value)
        self.picture.value = figure_png(figure)
        self.picture.layout.display = None

    def _ipython_display_(self):
        display(self.widget)

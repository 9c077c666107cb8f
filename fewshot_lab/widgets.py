"""Interactive controls for the notebooks (ipywidgets)."""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

from fewshot_lab.data import list_datasets, load_dataset
from fewshot_lab.data.dataset import SPLITS
from fewshot_lab.data.tasks import TaskSampler
from fewshot_lab.evaluation import evaluate
from fewshot_lab.plots import show_task


def figure_png(figure, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes for an ipywidgets.Image, the figure closed (no output message to capture)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return buffer.getvalue()


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


class AccuracyExplorer:
    """Pick a learner, ways and shots; read its accuracy on seeded test tasks with a 95% CI (fewshot_lab.evaluate).

    learners: {name: learner} following the learner protocol, e.g. {"k-NN": knn, "fine-tune": finetuner}.
    The same seed gives every learner and every setting the same tasks, so a result is stable and learners
    compare task for task. A change of method, ways or shots evaluates again; "evaluate" re-runs the
    current setting (after training a learner further, say).
    """

    def __init__(
        self, learners: dict, dataset, episodes: int = 100, queries: int = 15, split: str = "test", seed: int = 0
    ):
        if not learners:
            raise ValueError("AccuracyExplorer needs at least one learner: {name: learner}")
        self.learners, self.dataset = dict(learners), dataset
        self.episodes, self.queries, self.split, self.seed = episodes, queries, split, seed
        self.method = widgets.Dropdown(options=list(self.learners), description="method")
        self.ways = widgets.IntSlider(5, min=2, max=20, description="ways", continuous_update=False)
        self.shots = widgets.IntSlider(1, min=1, max=5, description="shots", continuous_update=False)
        self.button = widgets.Button(description="evaluate", icon="play")
        self.result = widgets.HTML()
        self.evaluation = None  # the latest fewshot_lab.Evaluation, None after a refused request
        for control in (self.method, self.ways, self.shots):
            control.observe(lambda change: self.evaluate(), names="value")
        self.button.on_click(lambda button: self.evaluate())
        self.widget = widgets.VBox(
            [widgets.HBox([self.method, self.button]), widgets.HBox([self.ways, self.shots]), self.result]
        )
        self.evaluate()

    def evaluate(self):
        """Score the chosen learner on the chosen task shape and show the result."""
        name = self.method.value
        self.result.value = html.escape(f"evaluating {name} on {self.episodes} tasks…")
        try:
            self.evaluation = evaluate(
                self.learners[name],
                self.dataset,
                ways=self.ways.value,
                shots=self.shots.value,
                queries=self.queries,
                episodes=self.episodes,
                split=self.split,
                seed=self.seed,
            )
        except ValueError as error:  # e.g. more ways than the split has classes: shown, not raised
            self.evaluation = None
            self.result.value = html.escape(str(error))
            return
        self.result.value = (
            f"<b>{html.escape(name)}</b>: {100 * self.evaluation.mean:.1f}% ± "
            f"{100 * self.evaluation.ci95:.1f}% <span style='color:gray'>"
            f"({html.escape(self.evaluation.protocol)}; 95% CI)</span>"
        )

    def _ipython_display_(self):
        display(self.widget)

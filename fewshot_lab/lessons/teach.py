"""The class demo, "teach it your symbols" (notebooks/teach_it.ipynb): draw a few examples of new symbols on a pad,
draw a query, and a Prototypical Network shipped with the package answers at once, with no training in the room,
and shows why: the query beside each class with its distance to the class's prototype, the softmax over the
classes, and every drawing's embedding in two dimensions.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from fewshot_lab.evaluation import evaluation_mode
from fewshot_lab.lessons.drawing import label_colours, show_image
from fewshot_lab.lessons.embedding import pca_projection
from fewshot_lab.methods.nearest import class_means
from fewshot_lab.pad import DrawingPad, shape_strokes
from fewshot_lab.saved import load


@dataclass
class Answer:
    """What the learner made of one query drawing."""

    label: str  # the class it chose
    classes: list  # every class, in the order of the columns below
    distances: torch.Tensor  # [ways], ||f(query) - c_k||^2
    probabilities: torch.Tensor  # [ways], softmax(-distances)
    support_x: torch.Tensor  # [support, C, H, W], the drawings as the learner sees them
    support_y: torch.Tensor  # [support], column of each drawing's class
    query_x: torch.Tensor  # [C, H, W]
    embedded: torch.Tensor  # [support + ways + 1, features]: the drawings, the prototypes, the query


class TeachIt:
    """A drawing pad with a class per label, a "what is this?" button, and the answer drawn below."""

    def __init__(self, labels=("circle", "cross", "wave"), learner: str = "protonet_omniglot"):
        self.saved = load(learner, device="cpu")
        if self.saved.learner.method != "protonet":
            raise ValueError(f"TeachIt explains a Prototypical Network; {learner!r} is a {self.saved.learner.method}")
        self.pad = DrawingPad(labels)
        self.ask = widgets.Button(description="what is this?", icon="question")
        self.forget = widgets.Button(description="forget all drawings", icon="trash")
        self.view = widgets.Output()
        self.answer: Answer | None = None
        self.ask.on_click(lambda _: self.show())
        self.forget.on_click(lambda _: self.start_again())
        self.widget = widgets.VBox([self.pad, widgets.HBox([self.ask, self.forget]), self.view])

    def draw_examples(self, shots: int = 2) -> None:
        """Give each class `shots` drawings made by code (the labels must be shapes of fewshot_lab.pad.shape_strokes),
        and leave a new one of the first class on the pad as the query: a start for a demo."""
        places = [((0.5, 0.5), 0.3), ((0.45, 0.55), 0.25), ((0.55, 0.45), 0.28), ((0.5, 0.45), 0.22)]
        for label in self.pad.labels:
            for centre, radius in places[:shots]:
                self.pad.strokes = shape_strokes(label, centre, radius)
                self.pad.add(label)
        self.pad.strokes = shape_strokes(self.pad.labels[0], (0.55, 0.48), 0.33)

    def start_again(self) -> None:
        """Forget every drawing and the answer: a clean pad for the class's own symbols."""
        self.pad.forget()
        self.answer = None
        with self.view:
            self.view.clear_output()
            display(widgets.HTML("All drawings forgotten: draw a few of each symbol and add them to their classes."))

    def explain(self) -> Answer:
        """Embed every drawing and the query; the prototype of a class is the mean of its embedded drawings."""
        pictures, labels = self.pad.support()
        classes = list(dict.fromkeys(labels))
        if len(classes) < 2:
            raise ValueError("add drawings to at least two classes first: with one class there is nothing to choose")
        query = self.pad.drawing()  # refuses an empty pad
        support_x = self.saved.images(pictures, "support")  # [support, C, H, W]
        query_x = self.saved.images([query], "query")  # [1, C, H, W]
        support_y = torch.tensor([classes.index(label) for label in labels])  # [support]
        learner = self.saved.learner
        with evaluation_mode(learner), torch.no_grad():
            drawings = learner.embedding(support_x)  # [support, features]
            point = learner.embedding(query_x)  # [1, features]
        prototypes = class_means(drawings, support_y)  # [ways, features]
        distances = ((point - prototypes) ** 2).sum(-1)  # [ways]
        probabilities = torch.softmax(-distances, dim=0)  # [ways]
        self.answer = Answer(
            classes[int(distances.argmin())],
            classes,
            distances,
            probabilities,
            support_x,
            support_y,
            query_x[0],
            torch.cat([drawings, prototypes, point]),
        )
        return self.answer

    def show(self) -> None:
        """Answer the drawing on the pad, below it; a refusal is shown as a sentence, not raised."""
        with self.view:
            self.view.clear_output(wait=True)
            try:
                answer = self.explain()
            except ValueError as error:
                display(widgets.HTML(f"<b>{html.escape(str(error))}</b>"))
                return
            display(
                widgets.HTML(f"<b>It is a {html.escape(answer.label)}</b> ({100 * answer.probabilities.max():.0f}%)")
            )
            figure = plot_answer(answer)
            plt.show()
            plt.close(figure)

    def _ipython_display_(self):
        display(self.widget)


def plot_answer(answer: Answer):
    """Top: the query beside each class (its drawings averaged), with its squared distance to the class's prototype.
    Bottom: the softmax over the classes, and every drawing, prototype and the query in the first two principal
    components of the embedding."""
    ways = len(answer.classes)
    colours = label_colours(range(ways), ways)
    figure = plt.figure(figsize=(2 + 1.6 * ways, 6))
    grid = figure.add_gridspec(2, ways + 1, height_ratios=[1, 1.6])
    show_image(figure.add_subplot(grid[0, 0]), answer.query_x, "query")
    for k, name in enumerate(answer.classes):
        mean_drawing = answer.support_x[answer.support_y == k].mean(0)  # [C, H, W]
        ax = figure.add_subplot(grid[0, k + 1])
        show_image(ax, mean_drawing, f"{name}\nd² = {answer.distances[k]:.1f}", colours[k])
        if name == answer.label:  # the chosen class, framed
            for spine in ax.spines.values():
                spine.set(edgecolor=colours[k], linewidth=3)
    bars = figure.add_subplot(grid[1, : (ways + 1) // 2])
    bars.bar(range(ways), 100 * answer.probabilities, color=colours)
    bars.set_xticks(range(ways), answer.classes)
    bars.set_ylabel("softmax(−d²), %")
    bars.set_ylim(0, 100)
    space = figure.add_subplot(grid[1, (ways + 1) // 2 :])
    points = pca_projection(answer.embedded)(answer.embedded)  # [support + ways + 1, 2]
    count = len(answer.support_y)
    for k, name in enumerate(answer.classes):
        own = points[:count][answer.support_y == k]
        space.scatter(own[:, 0], own[:, 1], color=colours[k], s=30, label=name)
        space.scatter(*points[count + k], color=colours[k], marker="*", s=250, edgecolor="black")
    space.scatter(*points[-1], color="white", edgecolor="black", marker="o", s=120, linewidth=2, label="query")
    space.set_title("embedding (PCA): drawings, prototypes ★, query ○", fontsize=9)
    space.set_xticks([])
    space.set_yticks([])
    space.legend(fontsize=7)
    figure.tight_layout()
    return figure

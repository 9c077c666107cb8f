"""The class demo, "teach it your symbols" (notebooks/teach_it.ipynb): draw a few examples of new symbols on a pad,
draw a query, and a learner shipped with the package answers at once, with no training in the room, and shows why.

The menu switches between five learners (LEARNERS), each meta-trained or pretrained on Omniglot's alphabets by a
recipe in fewshot_lab.pretrained, each explained by what decides its answer:

- Prototypical Networks: the squared distance d² from the query's embedding to each class's prototype (the mean of
  its drawings' embeddings), and every drawing, prototype and the query in the embedding's two main directions;
- Matching Networks: the attention a(x̂, xᵢ) the query pays to each drawing; P(y = k) sums it over class k;
- k-NN: the distance from the query to every drawing, in a pretrained classifier's embedding; the nearest wins;
- fine-tuning: that classifier's body and a new head trained on the drawings by Adam, the query's probabilities
  step by step (it takes far longer than the others, which change no weight);
- MAML: its initial weights adapted by gradient steps on the drawings, the query's probabilities step by step.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from fewshot_lab.evaluation import evaluation_mode
from fewshot_lab.lessons.drawing import figure_png, label_colours, show_image
from fewshot_lab.lessons.embedding import pca_projection
from fewshot_lab.methods import build_learner
from fewshot_lab.methods.nearest import class_means
from fewshot_lab.pad import DrawingPad, shape_strokes
from fewshot_lab.saved import load

# the menu: what the class sees -> (the shipped model, what its number under each class means)
LEARNERS = {
    "Prototypical Networks": ("protonet_omniglot", "d² to prototype"),
    "Matching Networks": ("matching_omniglot", "P(y = k)"),
    "k-NN": ("knn_omniglot", "d² to nearest"),
    "fine-tuning": ("knn_omniglot", "P(y = k)"),
    "MAML": ("maml_omniglot", "P(y = k)"),
}
FINE_TUNING = dict(
    steps=100, lr=3e-4, fine_tune_body=True
)  # Adam on the drawings, body and head; lr chosen on meta-val
MAML_STEPS = 10  # gradient steps on the drawings (meta-trained with 1 of size 0.4; 10 chosen on meta-validation)


@dataclass
class Answer:
    """What one learner made of one query drawing."""

    learner: str  # the menu entry that answered
    label: str  # the class it chose
    classes: list  # every class, in the order of the columns below
    probabilities: torch.Tensor  # [ways]: P(y = k | query) (k-NN: softmax of -d² to each class's nearest drawing)
    per_class: torch.Tensor  # [ways]: the number that decides (d² to prototype, to nearest drawing, or P(y = k))
    seconds: float  # adapting to the drawings and scoring the query, once
    support_x: torch.Tensor  # [support, C, H, W], the drawings as the learner sees them
    support_y: torch.Tensor  # [support], column of each drawing's class
    query_x: torch.Tensor  # [C, H, W]
    per_drawing: torch.Tensor | None = None  # [support]: attention a(x̂, xᵢ) (Matching) or d² to each drawing (k-NN)
    embedded: torch.Tensor | None = None  # [points, features]: the drawings, (the prototypes,) the query
    steps: list = field(default_factory=list)  # numbers of gradient steps (fine-tuning, MAML)
    trace: torch.Tensor | None = None  # [len(steps), ways]: P(y = k | query) after each number of steps


def demo_learner(name: str):
    """The shipped learner behind a menu entry, in evaluation mode on the CPU."""
    if name not in LEARNERS:
        raise ValueError(f"no demo learner {name!r}: choose one of {', '.join(LEARNERS)}")
    saved = load(LEARNERS[name][0], device="cpu")
    if name == "k-NN":  # the pretrained classifier's embedding, each query labelled as its nearest drawing
        knn = saved.learner
        saved.learner = build_learner("knn", rule="neighbour", **knn.saved_config)
        saved.learner.load_state_dict(knn.state_dict())
    elif name == "fine-tuning":  # the same classifier, fine-tuned on each task (one pretraining serves both)
        knn = saved.learner
        saved.learner = build_learner("finetune", **FINE_TUNING, **knn.saved_config)
        saved.learner.load_state_dict(knn.state_dict())
    elif name == "MAML":
        saved.learner.test_inner_steps = MAML_STEPS
    saved.learner.eval()
    return saved


def explain(name: str, learner, support_x, support_y, query_x) -> dict:
    """The fields of an Answer that depend on the learner, and the seconds of adapting to the drawings and
    answering the query once (for fine-tuning and MAML the class also waits for the step-by-step replay drawn
    beside it, which this does not count); query_x is [1, C, H, W]."""
    ways = int(support_y.max()) + 1
    start = time.perf_counter()
    answered = learner.adapt(support_x, support_y)(query_x)[0, :ways]  # [ways]
    seconds = time.perf_counter() - start
    return dict(seconds=seconds, **_evidence(name, learner, support_x, support_y, query_x, answered))


def _evidence(name: str, learner, support_x, support_y, query_x, answered) -> dict:
    """What decides the answer; `answered` [ways] is the learner's own scores after its full adaptation."""
    ways = len(answered)
    if name == "Prototypical Networks":
        drawings, point = learner.embedding(support_x), learner.embedding(query_x)  # [support, F], [1, F]
        prototypes = class_means(drawings, support_y)  # [ways, F], c_k
        distances = ((point - prototypes) ** 2).sum(-1)  # [ways], ||f(x̂) - c_k||²
        return dict(scores=-distances, per_class=distances, embedded=torch.cat([drawings, prototypes, point]))
    if name == "k-NN":
        drawings, point = learner.embedding(support_x), learner.embedding(query_x)  # [support, F], [1, F]
        distances = ((point - drawings) ** 2).sum(-1)  # [support]
        nearest = torch.full((ways,), float("inf")).scatter_reduce(0, support_y, distances, reduce="amin")  # [ways]
        return dict(scores=-nearest, per_class=nearest, per_drawing=distances, embedded=torch.cat([drawings, point]))
    if name == "Matching Networks":
        attention = learner.attention(support_x, support_y, query_x)[0]  # [support], a(x̂, xᵢ), summing to 1
        probabilities = torch.zeros(ways).index_add(0, support_y, attention)  # [ways], sum_i a(x̂, xᵢ) y_ik
        return dict(scores=probabilities.log(), per_class=probabilities, per_drawing=attention)
    # fine-tuning and MAML: the query's probabilities after 0, 1, 2, ... of the learner's gradient steps, over the
    # pad's classes (MAML's head has 5 outputs; the pad's classes are its first `ways`, the others have no drawing);
    # after all of them, the answer already computed
    total = learner.steps if name == "fine-tuning" else learner.steps()
    steps = [s for s in (0, 1, 2, 3, 5, 10, 20, 50) if s < total]
    scores = [learner.adapt(support_x, support_y, steps=s)(query_x)[0, :ways] for s in steps] + [answered]
    trace = torch.softmax(torch.stack(scores), 1)  # [len(steps) + 1, ways]
    return dict(scores=trace[-1].log(), per_class=trace[-1], steps=[*steps, total], trace=trace)


class TeachIt:
    """A drawing pad with a class per label, a menu of learners, a "what is this?" button, and the answer below."""

    def __init__(self, labels=("circle", "cross", "wave"), learner: str = "Prototypical Networks"):
        self.learners = {}  # menu entry -> its SavedLearner, loaded when first chosen
        self.saved(learner)  # refuses an unknown learner first
        self.pad = DrawingPad(labels)
        self.menu = widgets.Dropdown(options=list(LEARNERS), value=learner, description="learner")
        self.ask = widgets.Button(description="what is this?", icon="question")
        self.forget = widgets.Button(description="forget all drawings", icon="trash")
        self.message = widgets.HTML()  # the answer in words, or why there is none
        self.picture = widgets.Image(format="png", layout=widgets.Layout(display="none"))  # plot_answer's figure
        self.answer: Answer | None = None
        self.ask.on_click(lambda _: self.show())
        self.forget.on_click(lambda _: self.start_again())
        self.menu.observe(lambda _: self.show(), "value")  # the same drawings, answered by the learner chosen
        controls = widgets.HBox([self.menu, self.ask, self.forget])
        self.widget = widgets.VBox([self.pad, controls, self.message, self.picture])

    def saved(self, name: str):
        if name not in self.learners:
            self.learners[name] = demo_learner(name)
        return self.learners[name]

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
        self.say("All drawings forgotten: draw a few of each symbol and add them to their classes.")

    def explain(self, learner: str | None = None) -> Answer:
        """Answer the drawing on the pad with `learner` (default: the menu's choice), and say why."""
        name = learner or self.menu.value
        saved = self.saved(name)
        pictures, labels = self.pad.support()
        classes = list(dict.fromkeys(labels))
        if len(classes) < 2:
            raise ValueError("add drawings to at least two classes first: with one class there is nothing to choose")
        if saved.learner.sized_by_ways and len(classes) > saved.learner.ways:  # MAML's head: a fixed number of outputs
            outputs = saved.learner.ways
            raise ValueError(f"{name} was meta-trained with {outputs} outputs: use at most {outputs} classes")
        query = self.pad.drawing()  # refuses an empty pad
        support_x = saved.images(pictures, "support")  # [support, C, H, W]
        query_x = saved.images([query], "query")  # [1, C, H, W]
        support_y = torch.tensor([classes.index(label) for label in labels])  # [support]
        with evaluation_mode(saved.learner), torch.no_grad():
            why = explain(name, saved.learner, support_x, support_y, query_x)
        scores = why.pop("scores")  # [ways]
        self.answer = Answer(
            name,
            classes[int(scores.argmax())],
            classes,
            torch.softmax(scores, 0),
            support_x=support_x,
            support_y=support_y,
            query_x=query_x[0],
            **why,
        )
        return self.answer

    def say(self, words: str, figure=None) -> None:
        """Show a line under the pad, and a figure under it (none: the last one goes)."""
        self.picture.value = figure_png(figure, dpi=90) if figure is not None else b""  # before the words, which
        self.picture.layout.display = None if figure is not None else "none"  # then arrive with their figure
        self.message.value = words

    def show(self) -> None:
        """Answer the drawing on the pad, below it; a refusal is shown as a sentence, not raised."""
        try:
            answer = self.explain()
        except ValueError as error:
            self.say(f"<b>{html.escape(str(error))}</b>")
            return
        self.say(
            f"<b>{html.escape(answer.learner)}: it is a {html.escape(answer.label)}</b> "
            f"({100 * answer.probabilities.max():.0f}%; adapting and answering took {1000 * answer.seconds:.0f} ms)",
            plot_answer(answer),
        )

    def _ipython_display_(self):
        display(self.widget)


def plot_answer(answer: Answer):
    """Top: the query beside each class (its drawings averaged) with the number that decides. Bottom: the
    probabilities over the classes, and what the learner looked at: the embedding (Prototypical Networks, k-NN),
    the attention over the drawings (Matching Networks) or the probabilities step by step (fine-tuning, MAML)."""
    ways = len(answer.classes)
    colours = label_colours(range(ways), ways)
    figure = plt.figure(figsize=(2 + 1.6 * ways, 6), layout="constrained")
    grid = figure.add_gridspec(2, ways + 1, height_ratios=[1, 1.6])
    show_image(figure.add_subplot(grid[0, 0]), answer.query_x, "query")
    number = LEARNERS[answer.learner][1]
    for k, name in enumerate(answer.classes):
        mean_drawing = answer.support_x[answer.support_y == k].mean(0)  # [C, H, W]
        ax = figure.add_subplot(grid[0, k + 1])
        show_image(ax, mean_drawing, f"{name}\n{number} = {answer.per_class[k]:.2f}", colours[k])
        if name == answer.label:  # the chosen class, framed
            for spine in ax.spines.values():
                spine.set(edgecolor=colours[k], linewidth=3)
    bars = figure.add_subplot(grid[1, : (ways + 1) // 2])
    bars.bar(range(ways), 100 * answer.probabilities, color=colours)
    bars.set_xticks(range(ways), answer.classes)
    bars.set_ylabel("P(y = k | query), %" if answer.learner != "k-NN" else "softmax(−d² to nearest), %")
    bars.set_ylim(0, 100)
    figure.suptitle(f"{answer.learner}: adapting and answering took {1000 * answer.seconds:.0f} ms", fontsize=10)
    panel = figure.add_subplot(grid[1, (ways + 1) // 2 :])
    if answer.trace is not None:
        _plot_steps(panel, answer, colours)
    elif answer.embedded is not None:
        _plot_embedding(panel, answer, colours)
    else:
        _plot_attention(panel, answer, colours)
    return figure


def _plot_embedding(ax, answer: Answer, colours) -> None:
    """Every drawing, (each prototype ★,) and the query ○ in the first two principal components of the embedding;
    k-NN: a line to the nearest drawing."""
    points = pca_projection(answer.embedded)(answer.embedded)  # [points, 2]
    count = len(answer.support_y)
    for k, name in enumerate(answer.classes):
        own = points[:count][answer.support_y == k]
        ax.scatter(own[:, 0], own[:, 1], color=colours[k], s=30, label=name)
    if answer.per_drawing is None:  # Prototypical Networks: the prototypes follow the drawings
        for k in range(len(answer.classes)):
            ax.scatter(*points[count + k], color=colours[k], marker="*", s=250, edgecolor="black")
        ax.set_title("embedding (PCA): drawings, prototypes ★, query ○", fontsize=9)
    else:
        nearest = points[int(answer.per_drawing.argmin())]
        ax.plot([points[-1, 0], nearest[0]], [points[-1, 1], nearest[1]], color="black", linewidth=1)
        ax.set_title("embedding (PCA): drawings, query ○ and its nearest drawing", fontsize=9)
    ax.scatter(*points[-1], color="white", edgecolor="black", marker="o", s=120, linewidth=2, label="query")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7)


def _plot_attention(ax, answer: Answer, colours) -> None:
    """The attention a(x̂, xᵢ) the query pays to each drawing, coloured by the drawing's class."""
    order = answer.support_y.argsort(stable=True)  # the drawings grouped by class
    ax.bar(range(len(order)), answer.per_drawing[order], color=[colours[int(answer.support_y[i])] for i in order])
    ax.set_xticks(range(len(order)), [answer.classes[int(answer.support_y[i])] for i in order], rotation=90, fontsize=7)
    ax.set_ylabel("attention a(x̂, xᵢ)")
    ax.set_title("how much the query reads each drawing", fontsize=9)


def _plot_steps(ax, answer: Answer, colours) -> None:
    """P(y = k | query) after each number of gradient steps on the drawings."""
    for k, name in enumerate(answer.classes):
        ax.plot(answer.steps, 100 * answer.trace[:, k], marker="o", color=colours[k], label=name)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("gradient steps on your drawings")
    ax.set_ylabel("P(y = k | query), %")
    ax.set_ylim(0, 100)
    ax.set_title(f"adapting: {answer.steps[-1]} steps", fontsize=9)
    ax.legend(fontsize=7)

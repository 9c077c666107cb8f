"""Schematic diagrams of Chapter 7's ideas: the episode, the inner and outer loops, attention over a support set,
a MANN's read and write, a learned optimizer's unroll, and MAML's picture in parameter space.

Each function draws with matplotlib's patches, arrows and text (style.py gives the shared look) and returns
the figure, so a notebook cell is one line: `episode_diagram(ways=5, shots=1, queries=2)`.
"""

from __future__ import annotations

import itertools

import numpy as np
from matplotlib.patches import Circle, Rectangle

from fewshot_lab.lessons.diagrams.style import (
    PALETTE,
    SMALL_SIZE,
    TEXT_SIZE,
    arrow,
    box,
    canvas,
    label,
    route,
    term,
    tint,
)


def _check_count(value, what: str, low: int, high: int):
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high} for a readable diagram, got {value!r}")


def _tile(ax, x: float, y: float, side: float, colour: str, kind: str, name: str = "", image=None):
    """A square standing for one image: the image itself ([1, H, W] in [0, 1], ink high) in a frame, or a box with
    the name of its class."""
    if image is None:
        box(ax, x, y, side, side, name, colour, kind=kind, size=min(SMALL_SIZE, 26 * side))
        return
    extent = (x - side / 2, x + side / 2, y - side / 2, y + side / 2)
    ax.imshow(image[0].numpy(), cmap="gray_r", vmin=0, vmax=1, extent=extent, zorder=2, interpolation="nearest")
    box(ax, x, y, side, side, colour=colour, kind=kind, filled=False)


# ---- 7.3 the episode -------------------------------------------------------------------------------------------

SPLIT_COLOURS = {"train": "green", "val": "grey", "test": "purple"}
SPLIT_NAMES = {"train": ("meta-train", "元训练"), "val": ("meta-val", "元验证"), "test": ("meta-test", "元测试")}
SPLIT_USES = {"train": "for meta-training tasks", "val": "for choosing settings", "test": "for the reported accuracy"}
LETTERS = {"train": "ABCDEFGHIJKLMNO", "val": "PQR", "test": "XYZ"}  # classes when no dataset is given
PANELS = {"train": (0.3, 6.6, 7), "val": (7.1, 3.2, 3), "test": (10.5, 3.2, 3)}  # left edge, width, classes shown


def episode_diagram(ways: int = 5, shots: int = 1, queries: int = 2, dataset=None):
    """An N-way K-shot episode inside the meta-level split.

    Top: the classes split into meta-train, meta-val and meta-test, which share no class. Bottom: one task
    (episode) drawn from meta-train, its support set (ways x shots) and query set (ways x queries), one row per
    label. With a dataset (e.g. load_dataset("glyphs")), its images are drawn; without one, letters stand for
    classes.
    """
    _check_count(ways, "ways", 2, 10)
    _check_count(shots, "shots", 1, 10)
    _check_count(queries, "queries", 1, 15)
    width, height = 14.0, 10.0
    figure, ax = canvas(width, height, f"A {ways}-way {shots}-shot episode inside the meta-level split")
    if dataset is None:
        task, task_classes = None, list(np.random.default_rng(1).permutation(list(LETTERS["train"]))[:ways])
    else:
        from fewshot_lab.data import make_sampler

        task = make_sampler(dataset, "train", ways=ways, shots=shots, queries=queries, seed=0).sample()
        task_classes = task.classes.tolist()

    label(ax, 0.3, 8.95, term("Meta level", "外层") + ": the classes are split, no class in two splits", ha="left")
    for split, (left, panel_width, shown) in PANELS.items():
        colour = SPLIT_COLOURS[split]
        box(ax, left + panel_width / 2, 7.35, panel_width, 2.2, colour=colour, kind=f"meta-{split}")
        title = term(f"{SPLIT_NAMES[split][0]} classes", SPLIT_NAMES[split][1])
        label(ax, left + 0.2, 8.15, title, colour, ha="left", weight="bold")
        pool = list(LETTERS[split]) if dataset is None else dataset.splits[split]
        if split == "train":  # the task's classes among the ones shown, as many as fit
            pool = task_classes[:shown] + [name for name in pool if name not in task_classes]
        for position, name in enumerate(sorted(pool[:shown])):
            image = None if dataset is None else dataset.as_float(dataset.image_indices(name)[:1])[0]
            _tile(ax, left + 0.55 + position * 0.8, 7.25, 0.62, colour, "class", str(name), image)
        label(ax, left + 0.35 + shown * 0.8, 7.2, "…", colour, ha="left")
        label(ax, left + 0.2, 6.6, SPLIT_USES[split], colour, size=SMALL_SIZE, ha="left")

    box(ax, width / 2, 2.95, width - 0.6, 5.1, colour="green", filled=False, dashed=True, kind="episode")
    arrow(ax, (2.6, 6.25), (2.6, 5.55), "green")
    label(ax, 2.8, 5.9, "sample one task (an episode) from meta-train", "green", size=SMALL_SIZE, ha="left")
    label(ax, 7.0, 5.1, term("Base level", "内层") + ": inside each task, a support set and a query set")
    _episode_grid(ax, ways, shots, queries, task, task_classes)
    label(
        ax,
        width / 2,
        0.7,
        "labels 0…N−1 are new in every task; meta-val and meta-test tasks have the same form, on their own classes",
        size=SMALL_SIZE,
    )
    return figure


def _episode_grid(ax, ways: int, shots: int, queries: int, task, task_classes: list):
    """The support grid (blue) and the query grid (orange) of one task, a row per label: the task's images, or
    the names of its classes when `task` is None."""
    top = 4.45
    cell = min(0.7, 3.2 / ways, 8.8 / (shots + queries))
    side, bottom = 0.82 * cell, top - ways * cell
    support_left = 3.0
    query_left = support_left + shots * cell + 1.6
    for kind, left, count, colour, name in (
        ("support", support_left, shots, "blue", term("support set S", "支持集")),
        ("query", query_left, queries, "orange", term("query set Q", "查询集")),
    ):
        label(ax, left + count * cell / 2, top + 0.25, name, colour, weight="bold")
        label(ax, left + count * cell / 2, bottom - 0.1, f"{ways} × {count}", colour, size=SMALL_SIZE, va="top")
        if task is not None:
            images, labels = (task.support_x, task.support_y) if kind == "support" else (task.query_x, task.query_y)
        for row in range(ways):
            for column in range(count):
                image = None if task is None else images[labels == row][column]
                x, y = left + (column + 0.5) * cell, top - (row + 0.5) * cell
                _tile(ax, x, y, side, colour, kind, str(task_classes[row]), image)
    for row in range(ways):
        y = top - (row + 0.5) * cell
        label(ax, support_left - 0.25, y, f"label {row}", size=min(SMALL_SIZE, 30 * cell), ha="right")
    steps_left = query_left + queries * cell + 0.5
    if steps_left < 11.0:
        for line, (text, colour) in enumerate(
            (("1. adapt on S", "blue"), ("2. predict Q", "orange"), ("3. loss, accuracy on Q", "red"))
        ):
            label(ax, steps_left, top - 0.4 - 0.6 * line, text, colour, size=SMALL_SIZE, ha="left")


# ---- 7.8 (and 7.2) the inner and outer loops -------------------------------------------------------------------


def loops_diagram():
    """The inner and outer loops of MAML: each task adapts theta on its support set (inner loop); the query losses
    of the adapted weights, summed over tasks, update theta (outer loop)."""
    width, height = 14.0, 8.2
    figure, ax = canvas(width, height, term("The inner loop and the outer loop", "内循环与外循环"))
    theta_x, theta_y = 1.5, 4.3
    box(ax, theta_x, theta_y, 2.6, 1.5, "meta-parameters\n" + r"$\theta$", "green", kind="theta")
    rows = [6.1, 4.3, 2.5]
    inner_x, loss_x, sum_x = 5.4, 9.85, 12.85
    for task, y in enumerate(rows, start=1):
        arrow(ax, (theta_x + 1.3, theta_y + (2 - task) * 0.3), (inner_x - 1.9, y), "green")
        box(
            ax,
            inner_x,
            y,
            3.8,
            1.15,
            f"adapt on support $S_{task}$\n"
            + rf"$\theta'_{task} = \theta - \alpha\nabla_\theta L_{{S_{task}}}(\theta)$",
            "blue",
            kind="inner",
            size=SMALL_SIZE + 1,
        )
        arrow(ax, (inner_x + 1.9, y), (loss_x - 1.3, y), "blue")
        label(ax, (inner_x + 1.9 + loss_x - 1.3) / 2 + 0.1, y + 0.3, rf"$\theta'_{task}$", "blue", size=SMALL_SIZE)
        box(
            ax,
            loss_x,
            y,
            2.6,
            1.15,
            f"loss on query $Q_{task}$\n" + rf"$L_{{Q_{task}}}(\theta'_{task})$",
            "orange",
            kind="query loss",
            size=SMALL_SIZE + 1,
        )
        arrow(ax, (loss_x + 1.3, y), (sum_x - 0.95, theta_y + (2 - task) * 0.35), "red")
    box(ax, sum_x, theta_y, 1.9, 1.5, "meta-loss\n" + r"$\sum_i L_{Q_i}(\theta'_i)$", "red", kind="meta-loss")
    box(ax, inner_x, 4.3, 4.2, 5.5, colour="blue", filled=False, dashed=True)
    label(ax, inner_x, 7.3, term("inner loop", "内循环") + ": per task, fast", "blue", weight="bold")
    bottom = 0.95
    route(ax, [(sum_x, theta_y - 0.75), (sum_x, bottom), (theta_x, bottom), (theta_x, theta_y - 0.75)], "green")
    label(ax, width / 2, bottom + 0.35, term("outer loop", "外循环") + ": across tasks, slow", "green", weight="bold")
    label(
        ax,
        width / 2,
        bottom - 0.45,
        r"$\theta \leftarrow \theta - \beta\,\nabla_\theta \sum_i L_{Q_i}(\theta'_i)$:   the meta-gradient flows back "
        r"through every $\theta'_i$ to $\theta$",
        "green",
        size=SMALL_SIZE,
    )
    return figure


# ---- 7.5 attention over a support set --------------------------------------------------------------------------

SUPPORT_LABELS = (0, 1, 1, 2)  # y_i of the drawn support set, a 3-way task
ATTENTION = (0.10, 0.55, 0.27, 0.08)  # a(x_hat, x_i), positive, summing to 1


def attention_diagram():
    """Matching Networks' attention: the query's embedding is compared with every support embedding (cosine
    similarity, then a softmax over the support set); the prediction is the attention-weighted sum of the labels."""
    width, height = 14.0, 8.6
    figure, ax = canvas(width, height, term("Attention", "注意力") + " over the support set")
    ways = max(SUPPORT_LABELS) + 1
    rows = [5.6, 4.35, 3.1, 1.85]
    query_y = 7.2
    box(ax, 1.0, query_y, 1.3, 0.85, r"$\hat{x}$", "orange", kind="query")
    arrow(ax, (1.65, query_y), (2.55, query_y), "orange")
    label(ax, 2.1, query_y + 0.3, "f", "orange", size=SMALL_SIZE, style="italic")
    box(ax, 3.35, query_y, 1.6, 0.85, r"$f(\hat{x})$", "orange", kind="query embedding")
    label(ax, 1.0, query_y + 0.75, "query", "orange", size=SMALL_SIZE)
    label(ax, 1.0, rows[0] + 0.75, "support set", "blue", size=SMALL_SIZE)
    softmax_x = 6.1
    box(ax, softmax_x, 3.72, 1.7, 4.6, "cosine\nsimilarity\n+\nsoftmax\nover i", "purple", kind="softmax")
    arrow(ax, (4.15, query_y), (softmax_x, 3.72 + 2.3), "orange", bend=-0.25)
    bar_left, bar_scale = 7.35, 2.6
    for index, (y, y_label, weight) in enumerate(zip(rows, SUPPORT_LABELS, ATTENTION), start=1):
        box(ax, 1.0, y, 1.3, 0.85, f"$x_{index}$", "blue", kind="support")
        arrow(ax, (1.65, y), (2.55, y), "blue")
        label(ax, 2.1, y + 0.3, "g", "blue", size=SMALL_SIZE, style="italic")
        box(ax, 3.35, y, 1.6, 0.85, f"$g(x_{index})$", "blue", kind="support embedding")
        arrow(ax, (4.15, y), (softmax_x - 0.85, y), "blue")
        arrow(ax, (softmax_x + 0.85, y), (bar_left - 0.05, y), "purple")
        ax.add_patch(
            Rectangle((bar_left, y - 0.25), weight * bar_scale, 0.5, facecolor=PALETTE["purple"], gid="attention")
        )
        label(ax, bar_left + weight * bar_scale + 0.12, y, f"{weight:.2f}", "purple", size=SMALL_SIZE, ha="left")
        label(ax, 9.85, y, r"$\times$", size=TEXT_SIZE)
        _one_hot(ax, 10.85, y, [float(k == y_label) for k in range(ways)], "blue", kind="label")
    label(ax, bar_left + 0.9, rows[0] + 0.75, r"$a(\hat{x}, x_i)$", "purple", size=SMALL_SIZE)
    label(ax, 10.85, rows[0] + 0.75, r"label $y_i$", "blue", size=SMALL_SIZE)
    prediction = [sum(w for w, y in zip(ATTENTION, SUPPORT_LABELS) if y == k) for k in range(ways)]
    for y in rows:
        arrow(ax, (11.6, y), (12.2, 3.72 + (y - 3.72) * 0.1), "grey", width=1.5)
    _one_hot(ax, 12.9, 3.72, prediction, "orange", kind="prediction")
    label(ax, 12.9, 4.35, r"$\hat{y}$", "orange", weight="bold")
    label(ax, 12.9, 3.15, ", ".join(f"{value:.2f}" for value in prediction), "orange", size=SMALL_SIZE)
    label(
        ax,
        width / 2,
        0.85,
        r"$\hat{y} = \sum_i a(\hat{x}, x_i)\, y_i$,   $a(\hat{x}, x_i) = \mathrm{softmax}_i\, "
        r"\cos(f(\hat{x}), g(x_i))$",
    )
    label(
        ax,
        width / 2,
        0.3,
        "the support set is an external memory read by soft attention: its cost grows with the support set",
        size=SMALL_SIZE,
    )
    return figure


def _one_hot(ax, x: float, y: float, values, colour: str, kind: str):
    """A label vector as a row of squares centred at (x, y), each shaded by its value in [0, 1]."""
    side = 0.42
    for position, value in enumerate(values):
        centre = x + (position - (len(values) - 1) / 2) * side
        ax.add_patch(
            Rectangle(
                (centre - side / 2, y - side / 2),
                side,
                side,
                facecolor=tint(colour, 1 - 0.9 * value),
                edgecolor=PALETTE[colour],
                linewidth=1.5,
                gid=kind,
            )
        )


# ---- 7.6 a memory-augmented neural network -----------------------------------------------------------------------

USAGE = (0.9, 0.35, 1.4, 0.05, 0.7, 1.1)  # w^u_t of each memory slot: slot 4 is the least used
READ_SLOT = 1  # the slot whose row best matches the read key


def mann_diagram():
    """A MANN (Santoro et al. 2016) at step t: the controller reads (x_t, y_{t-1}), its read heads fetch a row of
    the memory by content, its write head writes to the least-used slot (or the last-read one: LRUA), and usage
    weights record which slots were used."""
    width, height = 14.0, 8.6
    figure, ax = canvas(width, height, "A memory-augmented neural network (MANN) at step t")
    controller_x, controller_y = 1.9, 4.3
    box(ax, controller_x, 1.1, 3.0, 0.9, r"input $(x_t,\ y_{t-1})$", "grey", kind="input")
    arrow(ax, (controller_x, 1.55), (controller_x, controller_y - 0.9), "grey")
    box(ax, controller_x, controller_y, 3.0, 1.8, term("controller", "控制器") + "\n(LSTM)", "green", kind="controller")
    arrow(ax, (controller_x, controller_y + 0.9), (controller_x, 6.75), "green")
    box(ax, controller_x, 7.2, 3.0, 0.9, r"prediction $\hat{y}_t$", "orange", kind="output")

    memory_left, memory_bottom, cell, columns = 7.9, 2.4, 0.45, 8
    memory_right, memory_top = memory_left + columns * cell, memory_bottom + len(USAGE) * cell
    _memory(ax, memory_left, memory_top, cell, columns)
    least = int(np.argmin(USAGE))
    read_row, write_row = (memory_top - (slot + 0.5) * cell for slot in (READ_SLOT, least))
    for row, colour in ((read_row, "purple"), (write_row, "red")):
        ax.add_patch(
            Rectangle(
                (memory_left, row - cell / 2), columns * cell, cell, facecolor="none", edgecolor=PALETTE[colour], lw=3
            )
        )
    label(ax, (memory_left + memory_right) / 2, memory_top + 0.35, r"memory $M_t$", "purple", weight="bold")
    label(ax, (memory_left + memory_right) / 2, memory_bottom - 0.3, "a row per slot", "purple", size=SMALL_SIZE)

    heads_x, read_y, write_y = 5.45, 6.6, 1.9
    box(ax, heads_x, read_y, 2.6, 1.0, term("read heads", "读头"), "purple", kind="read head")
    box(ax, heads_x, write_y, 2.6, 1.0, term("write head", "写头"), "blue", kind="write head")
    for head_y, key_y in ((read_y - 0.5, 5.55), (write_y + 0.5, 3.05)):
        arrow(
            ax,
            (controller_x + 1.5, controller_y + (0.5 if head_y > controller_y else -0.5)),
            (heads_x - 0.9, head_y),
            "green",
        )
        label(ax, 4.25, key_y, r"key $k_t$", "green", size=SMALL_SIZE, ha="left")
    arrow(ax, (memory_left - 0.05, read_row), (heads_x + 1.3, read_y - 0.2), "purple")
    arrow(ax, (heads_x - 1.3, read_y + 0.3), (controller_x + 1.5, 7.2), "purple")
    label(ax, 3.75, 7.3, r"$r_t$", "purple", size=SMALL_SIZE)
    label(ax, 7.05, 7.55, r"read by content:  $r_t = \sum_i w^r_t(i)\,M_t(i)$", "purple", size=SMALL_SIZE, ha="left")
    looked_up = r"$w^r_t(i) \propto \exp(\beta_t \cos(k_t, M_{t-1}(i)))$"  # where to read, decided before the write
    label(ax, 7.05, 7.0, looked_up, "purple", size=SMALL_SIZE, ha="left")
    arrow(ax, (heads_x + 1.3, write_y + 0.2), (memory_left - 0.05, write_row), "blue")
    label(ax, 6.95, 3.0, r"write $w^w_t$", "blue", size=SMALL_SIZE, ha="right")

    usage_left = memory_right + 0.5
    label(ax, usage_left + 0.8, memory_top + 0.35, r"usage $w^u_t$", "grey", weight="bold")
    for slot, usage in enumerate(USAGE):
        colour = "red" if slot == least else "grey"
        y = memory_top - (slot + 0.5) * cell
        ax.add_patch(Rectangle((usage_left, y - 0.15), usage, 0.3, facecolor=PALETTE[colour], gid="usage", lw=0))
    label(ax, usage_left + 0.2, write_row, r"least used: $w^{lu}$", "red", size=SMALL_SIZE, ha="left")
    label(
        ax,
        memory_left - 0.4,
        1.25,
        r"LRUA: $w^w_t = \sigma(\alpha)\, w^r_{t-1} + (1-\sigma(\alpha))\, w^{lu}_{t-1}$",
        "blue",
        size=SMALL_SIZE,
        ha="left",
    )
    label(
        ax,
        memory_left - 0.4,
        0.6,
        r"usage: $w^u_t = \gamma\, w^u_{t-1} + w^r_t + w^w_t$",
        "grey",
        size=SMALL_SIZE,
        ha="left",
    )
    return figure


def _memory(ax, left: float, top: float, cell: float, columns: int):
    """The memory matrix as a grid of purple cells, one row per slot, shaded by made-up contents."""
    shades = np.random.default_rng(0).uniform(0.15, 0.75, size=(len(USAGE), columns))
    for slot in range(len(USAGE)):
        for column in range(columns):
            ax.add_patch(
                Rectangle(
                    (left + column * cell, top - (slot + 1) * cell),
                    cell,
                    cell,
                    facecolor=tint("purple", 1 - shades[slot, column]),
                    edgecolor="white",
                    linewidth=1.5,
                    gid="memory cell",
                )
            )


# ---- 7.7 a learned optimizer's unroll ---------------------------------------------------------------------------


def optimizer_unroll_diagram(steps: int = 3):
    """A learned optimizer unrolled for `steps` steps (Andrychowicz et al. 2016, figure 2): at each step the
    optimizee's gradient goes into the LSTM m, whose output g_t updates theta_t; the LSTM state h_t is carried
    along; the losses f(theta_1) .. f(theta_T) summed over the unroll are the meta-loss that trains m's weights phi
    (f(theta_0) gives only the first gradient)."""
    _check_count(steps, "steps", 1, 5)
    spacing, left = 3.0, 2.9  # left: the x of theta_0, after the row names
    width, height = left + steps * spacing + 1.1, 9.0
    figure, ax = canvas(width, height, term("A learned optimizer", "学习优化器") + ", unrolled")
    theta_y, loss_y, lstm_y, meta_y = 4.6, 6.4, 2.4, 7.75
    xs = [left + step * spacing for step in range(steps + 1)]
    for name, y, colour in (("losses", loss_y, "red"), ("optimizee", theta_y, "grey"), ("optimizer", lstm_y, "green")):
        label(ax, 0.3, y + 0.2, name, colour, ha="left", weight="bold")
    label(ax, 0.3, lstm_y - 0.25, "an LSTM m with\n" + r"weights $\phi$", "green", size=SMALL_SIZE, ha="left", va="top")
    box(
        ax,
        (xs[0] + xs[-1]) / 2,
        meta_y,
        xs[-1] - xs[0] + 1.4,
        0.7,
        r"meta-loss $\sum_{t \geq 1} w_t\, f(\theta_t)$",
        "red",
        kind="meta-loss",
    )
    for step, x in enumerate(xs):
        box(ax, x, theta_y, 1.1, 0.8, rf"$\theta_{step}$", "grey", kind="optimizee")
        box(ax, x, loss_y, 1.4, 0.8, rf"$f(\theta_{step})$", "red", kind="loss")
        arrow(ax, (x, theta_y + 0.4), (x, loss_y - 0.4), "grey")
        if step > 0:  # f(theta_0) only gives the first gradient: the meta-loss sums f(theta_1) .. f(theta_T)
            arrow(ax, (x, loss_y + 0.4), (x, meta_y - 0.35), "red").set_gid("meta-loss term")
    for step, (x, next_x) in enumerate(itertools.pairwise(xs)):
        middle = (x + next_x) / 2
        ax.add_patch(Circle((middle, theta_y), 0.25, facecolor="white", edgecolor=PALETTE["grey"], lw=2))
        label(ax, middle, theta_y, "+", size=TEXT_SIZE + 2)
        arrow(ax, (x + 0.55, theta_y), (middle - 0.25, theta_y), "grey")
        arrow(ax, (middle + 0.25, theta_y), (next_x - 0.55, theta_y), "grey")
        box(ax, middle, lstm_y, 1.2, 0.9, "m", "green", kind="lstm")
        start, end = np.array([x + 0.45, loss_y - 0.4]), np.array([middle - 0.4, lstm_y + 0.45])
        arrow(ax, tuple(start), tuple(end), "grey", dashed=True)
        label(ax, *(start + 0.22 * (end - start) + [0.2, 0.0]), rf"$\nabla_{step}$", size=SMALL_SIZE, ha="left")
        arrow(ax, (middle, lstm_y + 0.45), (middle, theta_y - 0.25), "green")
        label(ax, middle + 0.12, lstm_y + 1.05, rf"$g_{step}$", "green", size=SMALL_SIZE, ha="left")
        arrow(ax, (middle - 1.6, lstm_y), (middle - 0.6, lstm_y), "green")
        label(ax, middle - 1.1, lstm_y - 0.35, rf"$h_{step}$", "green", size=SMALL_SIZE)
    arrow(ax, (xs[-1] - spacing / 2 + 0.6, lstm_y), (xs[-1] + 0.5, lstm_y), "green")
    label(ax, xs[-1] - spacing / 2 + 1.1, lstm_y - 0.35, rf"$h_{steps}$", "green", size=SMALL_SIZE)
    label(ax, width / 2, 1.1, r"$\theta_{t+1} = \theta_t + g_t$,   $[g_t, h_{t+1}] = m(\nabla_t, h_t;\ \phi)$")
    label(
        ax,
        width / 2,
        0.45,
        r"dashed: $\nabla_t$ enters m as an input; no gradient flows back through it (no second derivatives)",
        size=SMALL_SIZE,
    )
    return figure


# ---- 7.8 MAML in parameter space ---------------------------------------------------------------------------------

TASK_OPTIMA = np.array([[-3.2, 2.2], [3.4, 1.9], [0.3, -2.7]])  # theta*_i of three quadratic tasks
TASK_CURVATURES = np.array([[[0.9, 0.0], [0.0, 1.3]], [[1.2, 0.25], [0.25, 0.95]], [[1.0, -0.2], [-0.2, 1.25]]])
INNER_LR = 0.7  # alpha of the one inner gradient step
META_START, META_LR, META_STEPS = np.array([-4.3, -2.9]), 2.0, 10  # the outer loop drawn: from where, how


def parameter_space_diagram():
    """MAML's picture in parameter space (Finn et al. 2017, figure 1), computed on three quadratic tasks
    L_i(theta) = 1/2 (theta - theta*_i)^T A_i (theta - theta*_i): the outer loop moves the shared initial point
    theta along the meta-gradient until one inner gradient step takes it close to every task's optimum."""
    width, height = 12.0, 9.2
    figure, ax = canvas(width, height, term("MAML in parameter space: a shared initial point", "共同初始点"))
    origin = np.array([5.8, 5.1])  # where the parameter plane's (0, 0) is drawn
    path = _meta_path(META_START, META_LR, META_STEPS)
    theta = path[-1]
    for task, (optimum, curvature, colour) in enumerate(
        zip(TASK_OPTIMA, TASK_CURVATURES, ("blue", "orange", "purple")), start=1
    ):
        _level_curves(ax, origin + optimum, curvature, colour)
        adapted = theta - INNER_LR * curvature @ (theta - optimum)
        arrow(ax, tuple(origin + theta), tuple(origin + adapted), colour, dashed=True)
        ax.plot(*(origin + optimum), marker="*", markersize=24, color=PALETTE[colour], gid="optimum", zorder=4)
        label(ax, *(origin + optimum + [0.75, 0.0]), rf"$\theta^*_{task}$", colour, size=TEXT_SIZE + 4)
        middle, across = origin + (theta + adapted) / 2, _unit([adapted[1] - theta[1], theta[0] - adapted[0]])
        label(ax, *(middle + 0.4 * across), rf"$-\alpha\nabla L_{task}$", colour)
    points = origin + path
    ax.plot(points[:, 0], points[:, 1], color=PALETTE["green"], lw=3, marker="o", markersize=5, gid="meta path")
    arrow(ax, tuple(points[0]), tuple(points[0] + 1.2 * _unit(path[1] - path[0])), "green", width=3.5)
    label(ax, *(points[0] + [0.0, -0.45]), r"start $\theta_0$", "green", size=SMALL_SIZE)
    label(
        ax,
        *(points[0] + [0.45, 0.75]),
        "meta-gradient\n" + r"$-\nabla_\theta \sum_i L_i(\theta'_i)$",
        "green",
        size=SMALL_SIZE,
        ha="right",
        va="bottom",
    )
    ax.plot(*points[-1], marker="o", markersize=16, color=PALETTE["green"], gid="theta", zorder=4)
    label(ax, *(points[-1] + [-0.3, -0.35]), r"$\theta$", "green", size=TEXT_SIZE + 6, weight="bold", ha="right")
    label(
        ax,
        0.3,
        0.95,
        "solid green: the outer loop (meta-learning) moves the initial point θ",
        "green",
        size=SMALL_SIZE,
        ha="left",
    )
    label(
        ax,
        0.3,
        0.4,
        r"dashed: one inner gradient step per task, $\theta'_i = \theta - \alpha\nabla L_i(\theta)$;  rings: "
        "each task's loss",
        size=SMALL_SIZE,
        ha="left",
    )
    return figure


def _meta_gradient(theta: np.ndarray) -> np.ndarray:
    """d/dtheta of sum_i L_i(theta - alpha grad L_i(theta)) for L_i(x) = 1/2 (x - theta*_i)^T A_i (x - theta*_i)."""
    total = np.zeros(2)
    for optimum, curvature in zip(TASK_OPTIMA, TASK_CURVATURES):
        step = np.eye(2) - INNER_LR * curvature  # theta'_i - theta*_i = step (theta - theta*_i)
        total += step @ curvature @ step @ (theta - optimum)
    return total


def _meta_path(start: np.ndarray, meta_lr: float, steps: int) -> np.ndarray:
    """The outer loop's iterates from `start`, [steps + 1, 2]."""
    path = [start]
    for _ in range(steps):
        path.append(path[-1] - meta_lr * _meta_gradient(path[-1]))
    return np.array(path)


def _unit(direction) -> np.ndarray:
    direction = np.asarray(direction, dtype=float)
    return direction / np.linalg.norm(direction)


def _level_curves(ax, centre: np.ndarray, curvature: np.ndarray, colour: str):
    """Two level sets of 1/2 (x - c)^T A (x - c): ellipses around the task's optimum."""
    angles = np.linspace(0, 2 * np.pi, 100)
    circle = np.stack([np.cos(angles), np.sin(angles)])  # [2, points]
    values, vectors = np.linalg.eigh(curvature)
    for level in (0.1, 0.4):
        ellipse = centre[:, None] + vectors @ (np.sqrt(2 * level / values)[:, None] * circle)
        ax.plot(ellipse[0], ellipse[1], color=tint(colour, 0.45), lw=1.5, gid="level curve")

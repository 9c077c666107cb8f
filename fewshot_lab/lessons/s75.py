"""Section 7.5 (metric learning and attention): a Matching Network's attention over one task's support set, a
Prototypical Network's prototypes, and what attention costs as the support set grows.

Every function draws into new matplotlib axes and returns the figure, so a notebook cell stays one line.
"""

from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import numpy as np
import torch

from fewshot_lab.checks import check_positive_int
from fewshot_lab.evaluation import evaluation_mode
from fewshot_lab.lessons.drawing import label_colours, show_image
from fewshot_lab.lessons.embedding import pca_projection
from fewshot_lab.lessons.timing import Stopwatch
from fewshot_lab.methods import build_learner


def plot_attention(matching_learner, task, query: int = 0):
    """One query of a task read by a Matching Network: the query image, the support images (a row per label,
    a column per shot), and beside them the attention a(x_hat, x_i) it pays each support image as a
    heatmap of the same layout. A row's sum is P(label | x_hat, S), the probability the network gives
    that label. The task's support set must be label-major with equal shots, as TaskSampler makes it."""
    ways = task.ways
    shots = len(task.support_y) // ways
    if not torch.equal(task.support_y.cpu(), torch.arange(ways).repeat_interleave(shots)):
        raise ValueError(
            "plot_attention needs a label-major support set with equal shots per label "
            "(support_y = [0]*shots + [1]*shots + ...), as TaskSampler makes it"
        )
    with evaluation_mode(matching_learner) as device, torch.no_grad():
        support_x, support_y = task.support_x.to(device), task.support_y.to(device)
        query_x = task.query_x[query : query + 1].to(device)  # [1, C, H, W]
        weights = matching_learner.attention(support_x, support_y, query_x)[0].cpu()  # [ways * shots]
    weights = weights.reshape(ways, shots)
    probabilities = weights.sum(1)  # [ways], P(label | x_hat, S)
    predicted, true = int(probabilities.argmax()), int(task.query_y[query])
    figure = plt.figure(figsize=(1.1 * (shots + 1) + 0.8 * shots + 2.0, 1.05 * ways + 0.6))
    grid = figure.add_gridspec(ways, shots + 2, width_ratios=[1] * (shots + 1) + [0.8 * shots + 0.4])
    show_image(
        figure.add_subplot(grid[0, 0]),
        task.query_x[query],
        f"query\ntrue {true}, predicted {predicted}",
        "black" if predicted == true else "red",
    )
    for label in range(ways):
        for shot in range(shots):
            ax = figure.add_subplot(grid[label, 1 + shot])
            show_image(ax, task.support_x[label * shots + shot], "support" if label == 0 and shot == 0 else None)
            if shot == 0:
                ax.set_ylabel(f"label {label}", fontsize=8)
    heat = figure.add_subplot(grid[:, shots + 1])
    heat.imshow(weights.numpy(), cmap="Blues", vmin=0, vmax=float(weights.max()), aspect="auto")
    for (label, shot), weight in np.ndenumerate(weights.numpy()):
        heat.text(
            shot,
            label,
            f"{weight:.2f}",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if weight > 0.6 * float(weights.max()) else "black",
        )
    heat.set_xticks(range(shots), [f"shot {shot + 1}" for shot in range(shots)], fontsize=7)
    heat.set_yticks(
        range(ways), [f"P({label}) = {p:.2f}" for label, p in enumerate(probabilities.tolist())], fontsize=8
    )
    heat.yaxis.tick_right()
    heat.set_title("attention a(query, support)", fontsize=9)
    figure.tight_layout()
    return figure


def plot_prototypes(protonet_learner, task):
    """A task as a Prototypical Network sees it: the embedded support images (dots), their class means, the
    prototypes (large stars), and the query images (crosses; circled in red where the nearest prototype is
    of another class), in a 2-D PCA projection of the support and query embeddings. The classifier
    itself measures distances in all dimensions; the projection is only a view."""
    with evaluation_mode(protonet_learner) as device, torch.no_grad():
        support_x, support_y = task.support_x.to(device), task.support_y.to(device)
        support = protonet_learner.embedding(support_x).cpu()  # [ways * shots, features]
        queries = protonet_learner.embedding(task.query_x.to(device)).cpu()  # [ways * queries, features]
        prototypes = protonet_learner.prototypes(support_x, support_y).cpu()  # [ways, features]
        predicted = protonet_learner.adapt(support_x, support_y)(task.query_x.to(device)).argmax(1).cpu()
    project = pca_projection(torch.cat([support, queries]))
    support_2d, queries_2d, prototypes_2d = project(support), project(queries), project(prototypes)
    ways, query_y = task.ways, task.query_y.cpu()
    figure, ax = plt.subplots(figsize=(5.6, 4.4))
    ax.scatter(
        queries_2d[:, 0], queries_2d[:, 1], marker="x", s=28, color=label_colours(query_y, ways), label="queries"
    )
    wrong = predicted != query_y
    ax.scatter(
        queries_2d[wrong, 0],
        queries_2d[wrong, 1],
        s=110,
        facecolors="none",
        edgecolors="red",
        label="nearest prototype is wrong",
    )
    ax.scatter(support_2d[:, 0], support_2d[:, 1], s=30, color=label_colours(task.support_y, ways), label="support")
    ax.scatter(
        prototypes_2d[:, 0],
        prototypes_2d[:, 1],
        marker="*",
        s=380,
        color=label_colours(range(ways), ways),
        edgecolors="black",
        linewidths=1.2,
        label="prototypes",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    legend = ax.legend(fontsize=8)
    for handle, text in zip(legend.legend_handles, legend.get_texts()):
        if text.get_text() != "nearest prototype is wrong":  # markers of many colours: shown in grey
            handle.set_facecolor("gray")
            if text.get_text() != "prototypes":
                handle.set_edgecolor("gray")
    shots = len(task.support_y) // ways
    ax.set_title(
        f"{ways}-way {shots}-shot task: {(~wrong).float().mean():.0%} of the queries are nearest their own prototype",
        fontsize=9,
    )
    figure.tight_layout()
    return figure


COST_LEARNERS = {  # name: (method, options) for fewshot_lab.methods.build_learner
    "Matching Networks": ("matching", {}),
    "Matching Networks + FCE": ("matching", {"full_context": True}),
    "Prototypical Networks": ("protonet", {}),
}


def classifier_elements(name: str, support: int, queries: int, ways: int, features: int, fce_steps: int = 5) -> int:
    """The float32 elements a classifier of COST_LEARNERS holds beyond the embeddings to label `queries` queries
    from `support` support images (what backpropagation keeps during meta-training):

    Matching Networks: the attention matrix a(x_hat, x_i), [queries, support].
    Matching Networks + FCE: that, the attention of each of the K reads of the attention LSTM, [K, queries,
        support], the bidirectional LSTM's hidden and cell states over the support set, [2 directions, 2,
        support, features], and the attention LSTM's hidden and cell states at each read, [K, 2, queries, features].
    Prototypical Networks: the prototypes [ways, features] and the squared distances [queries, ways]: nothing
        grows with the support set.
    """
    if name == "Matching Networks":
        return queries * support
    if name == "Matching Networks + FCE":
        return (1 + fce_steps) * queries * support + 4 * support * features + 2 * fce_steps * queries * features
    if name == "Prototypical Networks":
        return ways * features + queries * ways
    raise ValueError(f"unknown classifier {name!r}: choose one of {', '.join(COST_LEARNERS)}")


def attention_cost(
    support_sizes=(5, 10, 20, 40, 80, 160, 320, 640),
    queries: int = 75,
    ways: int = 5,
    backbone: str = "conv4-small",
    repeats: int = 5,
    seed: int = 0,
) -> dict:
    """What labelling a fixed set of `queries` query images costs as the support set grows, for each learner
    of COST_LEARNERS around the same (untrained: cost does not depend on the weights) backbone, on random images.

    Returns {"support_sizes": [...], "queries": ..., "ways": ..., "features": ...,
             "seconds": {name: [median over `repeats` runs of adapt + scoring the queries, without autograd]},
             "read_seconds": {name: [the same for the learner with its embedding taken out, fed random
                              embeddings: the cost of reading the support set alone]},
             "bytes": {name: [4 * classifier_elements(...)]}}, one value per support size.
    Support sizes must be multiples of `ways` (support size = ways * shots).
    """
    bad = [size for size in support_sizes if size < ways or size % ways]
    if bad:
        raise ValueError(f"support sizes must be multiples of ways={ways} (ways * shots), got {bad}")
    check_positive_int("repeats", repeats)
    torch.manual_seed(seed)
    learners = {
        name: build_learner(method, backbone=backbone, **options) for name, (method, options) in COST_LEARNERS.items()
    }
    features = learners["Matching Networks + FCE"].saved_config["features"]
    fce_steps = learners["Matching Networks + FCE"].fce_steps
    readers = {name: copy.deepcopy(learner) for name, learner in learners.items()}
    for reader in readers.values():
        reader.embedding = torch.nn.Identity()  # the classifier alone: it is given the embeddings
    query_x = torch.rand(queries, 1, 28, 28)  # [queries, 1, 28, 28]
    query_features = torch.rand(queries, features)  # [queries, features]
    cost = {
        "support_sizes": list(support_sizes),
        "queries": queries,
        "ways": ways,
        "features": features,
        **{key: {name: [] for name in learners} for key in ("seconds", "read_seconds", "bytes")},
    }
    for size in support_sizes:
        support_x = torch.rand(size, 1, 28, 28)  # [ways * shots, 1, 28, 28]
        support_features = torch.rand(size, features)  # [ways * shots, features]
        support_y = torch.arange(ways).repeat_interleave(size // ways)  # [ways * shots]
        for name in learners:
            cost["seconds"][name].append(_median_seconds(learners[name], support_x, support_y, query_x, repeats))
            cost["read_seconds"][name].append(
                _median_seconds(readers[name], support_features, support_y, query_features, repeats)
            )
            cost["bytes"][name].append(4 * classifier_elements(name, size, queries, ways, features, fce_steps))
    return cost


def _median_seconds(learner, support_x, support_y, query_x, repeats: int) -> float:
    """The median time of labelling query_x from the support set over `repeats` runs, after one warm-up run."""
    runs = []
    with evaluation_mode(learner) as device, torch.no_grad():
        for _ in range(repeats + 1):
            with Stopwatch(device) as clock:
                learner.adapt(support_x, support_y)(query_x)
            runs.append(clock.seconds)
    return float(np.median(runs[1:]))


def plot_attention_cost(cost: dict):
    """attention_cost's measurements on log-log axes, against the size of the support set: the time to label the
    queries (left; solid: from images, embedding included; dashed: reading the support set alone, from given
    embeddings) and the memory the classifier needs beyond the embeddings (right)."""
    sizes = cost["support_sizes"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    colours = plt.get_cmap("tab10")
    for index, (name, marker) in enumerate(zip(cost["seconds"], "osD^v")):
        left.plot(sizes, 1000 * np.asarray(cost["seconds"][name]), marker=marker, color=colours(index), label=name)
        left.plot(
            sizes, 1000 * np.asarray(cost["read_seconds"][name]), marker=marker, color=colours(index), linestyle="--"
        )
        right.plot(sizes, cost["bytes"][name], marker=marker, color=colours(index), label=name)
    left.set_ylabel(f"milliseconds to label {cost['queries']} queries")
    right.set_ylabel("bytes beyond the embeddings (float32)")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes, [str(size) for size in sizes])
        ax.minorticks_off()
        ax.set_xlabel(
            f"support images ({cost['ways']} ways, {sizes[0] // cost['ways']} to {sizes[-1] // cost['ways']} shots)"
        )
        ax.legend(fontsize=8)
    left.set_title("time: embedding and reading the support set (solid), reading only (dashed)", fontsize=9)
    right.set_title("memory: attention grows with the support set, prototypes with the ways", fontsize=9)
    figure.tight_layout()
    return figure

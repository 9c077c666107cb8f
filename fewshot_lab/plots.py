"""Figures the notebooks draw: tasks as image grids, classes of a split, per-task scores, hypothesis spaces,
training runs, embeddings of unseen classes, attention and prototypes, and what each method costs.

Every function draws into new matplotlib axes and returns the figure, so a notebook cell stays one line.
"""

from __future__ import annotations

import copy
import functools
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import font_manager, ft2font

from fewshot_lab.data.dataset import FewShotDataset
from fewshot_lab.evaluation import evaluation_mode, task_scores


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
        name = (
            dataset.classes[int(task.classes[label])].name
            if dataset is not None
            else f"class {int(task.classes[label])}"
        )
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
    return name if len(name) <= width else name[: width - 1] + "…"


@functools.cache
def _default_font_characters() -> frozenset[int]:
    font = font_manager.findfont(font_manager.FontProperties(family=plt.rcParams["font.family"]))
    return frozenset(ft2font.FT2Font(font).get_charmap())


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
                _show(ax, dataset.as_float(first_image[None])[0])
            else:
                ax.axis("off")
        axes[row, 0].set_ylabel(_short(group, 16), fontsize=8, rotation=0, ha="right", va="center")
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


def consistent_waves(
    family, support_x: torch.Tensor, support_y: torch.Tensor, tolerance: float = 0.1, grid: int = 200
) -> torch.Tensor:
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
    for curve in smooth_curves_through(support_x, support_y, x, generic_curves, rng):
        left.plot(x, curve, color="tab:gray", alpha=0.35, linewidth=1)
    waves = consistent_waves(family, support_x, support_y)
    for amplitude, phase in waves[torch.from_numpy(rng.permutation(len(waves))[:generic_curves])]:
        right.plot(x, family.wave(x, amplitude, phase), color="tab:blue", alpha=0.35, linewidth=1)
    for ax, title in (
        (left, "any smooth function through the support points"),
        (right, f"only waves of the task family: {len(waves)} of {200 * 200} (A, phase) fit"),
    ):
        ax.plot(x, family.wave(x, task.amplitude, task.phase), color="black", linestyle="--", label="true task")
        ax.scatter(support_x, support_y, color="red", zorder=3, label="support set")
        ax.set_title(title, fontsize=9)
        ax.set_ylim(-6, 6)
    left.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    return figure


def smooth_curves_through(support_x, support_y, x, curves: int, rng: np.random.Generator) -> torch.Tensor:
    """`curves` random smooth functions that pass through the support points (support_x, support_y [shots, 1]),
    evaluated at x [points, 1]: [curves, points]. Each is a sum of cosines with its own random frequencies and
    phases, fitted to the support points, plus a random draw from what the fit leaves free."""
    values = []
    for _ in range(curves):
        frequencies, phases = _random_frequencies(rng)

        def features(points, frequencies=frequencies, phases=phases):  # [points, 1] -> [points, basis]
            return torch.cat([torch.cos(points * k + b) for k, b in zip(frequencies, phases)], 1)

        design = features(support_x)  # [shots, basis]
        weights = torch.linalg.lstsq(design, support_y).solution  # [basis, 1]
        weights = weights + torch.from_numpy(_null_space_draw(design.numpy(), rng)).float()[:, None]
        values.append((features(x) @ weights).flatten())
    return torch.stack(values)


def _random_frequencies(rng: np.random.Generator, basis: int = 12):
    return (
        torch.from_numpy(rng.uniform(0.2, 2.5, basis)).float(),
        torch.from_numpy(rng.uniform(0, math.tau, basis)).float(),
    )


def _null_space_draw(design: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random direction that leaves the values at the support points unchanged."""
    _, _, vt = np.linalg.svd(design)
    null = vt[design.shape[0] :]  # [basis - shots, basis]
    return null.T @ rng.normal(size=len(null))


# Sections 7.4 and 7.5: training runs, embeddings of unseen classes, attention, prototypes, and what they cost.


def _smooth(values, window: int) -> np.ndarray:
    """The mean of the last `window` values at every step (of fewer at the start, so no step is dropped)."""
    values = np.asarray(values, dtype=np.float64)
    totals = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (totals[ends] - totals[starts]) / (ends - starts)


def plot_history(history, window: int | None = None):
    """A run of fewshot_lab.meta_train: the training loss and accuracy per step, as moving averages over
    `window` steps (default: a fiftieth of the run, at least 5), and the meta-validation accuracy with its 95% CI."""
    steps = np.asarray(history.step)
    window = window or max(5, len(steps) // 50)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    left.plot(steps, history.loss, color="tab:blue", alpha=0.25, linewidth=0.8, label="each step")
    left.plot(steps, _smooth(history.loss, window), color="tab:blue", label=f"mean of {window} steps")
    left.set_xlabel("training step")
    left.set_ylabel("training loss")
    left.legend(fontsize=8)
    right.plot(
        steps, _smooth(history.accuracy, window), color="tab:blue", label=f"training batches, mean of {window} steps"
    )
    right.errorbar(
        history.val_step,
        history.val_accuracy,
        yerr=history.val_ci95,
        fmt="o",
        color="tab:orange",
        capsize=3,
        label="meta-validation tasks (95% CI)",
    )
    if history.best_step >= 0:
        right.axvline(history.best_step, color="gray", linestyle=":", label="best validation: weights kept")
    right.set_xlabel("training step")
    right.set_ylabel("accuracy")
    right.set_ylim(0, 1.02)
    right.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return figure


def pca_projection(points: torch.Tensor, components: int = 2):
    """The affine map onto the first principal components of points [n, features]: x -> (x - mean) V,
    [.., features] -> [.., components]. Each component's sign is fixed (its largest loading positive), so the
    same points always give the same picture."""
    centre = points.mean(0)
    _, _, vt = torch.linalg.svd(points - centre, full_matrices=False)
    basis = vt[:components].T  # [features, components]
    signs = torch.sign(basis.gather(0, basis.abs().argmax(0, keepdim=True)))  # [1, components]
    basis = basis * torch.where(signs == 0, 1.0, signs)
    return lambda x: (x - centre) @ basis


def _label_colours(labels, count: int):
    palette = plt.get_cmap("tab10" if count <= 10 else "tab20")
    return [palette(int(label) % palette.N) for label in labels]


def plot_embedding(
    embeddings: dict,
    dataset: FewShotDataset,
    split: str = "test",
    classes: int = 8,
    images_per_class: int = 20,
    seed: int = 0,
):
    """Where an embedding puts the images of a few classes of `split` (unseen in training for "test"): one panel
    per embedding, a 2-D PCA projection of its features, coloured by class.

    embeddings: {title: network} where a network maps images to features, e.g. {"before meta-training":
        untrained, "after": learner.embedding}; a learner stands for its .embedding.
    Each panel's title gives the leave-one-out 1-nearest-neighbour accuracy among the shown images, measured
    in the full feature space (the projection is only a view of it).
    """
    dataset.check_split(split)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(dataset.splits[split], size=min(classes, len(dataset.splits[split])), replace=False))
    indices = [dataset.image_indices(c)[:images_per_class] for c in chosen]
    labels = torch.arange(len(chosen)).repeat_interleave(torch.tensor([len(i) for i in indices]))  # [images]
    images = dataset.as_float(torch.cat(indices))  # [images, C, H, W]
    figure, axes = plt.subplots(1, len(embeddings), figsize=(4.2 * len(embeddings) + 1.6, 4), squeeze=False)
    for ax, (title, network) in zip(axes[0], embeddings.items()):
        network = getattr(network, "embedding", network)
        with evaluation_mode(network) as device, torch.no_grad():
            features = network(images.to(device)).cpu()  # [images, features]
        points = pca_projection(features)(features)  # [images, 2]
        for label, class_index in enumerate(chosen):
            mine = labels == label
            ax.scatter(
                points[mine, 0],
                points[mine, 1],
                s=14,
                color=_label_colours([label], len(chosen))[0],
                label=_short(dataset.classes[class_index].name, 18),
            )
        ax.set_title(
            f"{title}\n1-NN accuracy among these images: {leave_one_out_accuracy(features, labels):.0%}", fontsize=9
        )
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, -1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    figure.suptitle(
        f"{len(chosen)} {split} classes of {dataset.name}, {images_per_class} images each: 2-D PCA of the embedding",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


def leave_one_out_accuracy(features: torch.Tensor, labels: torch.Tensor) -> float:
    """How often the nearest other point (Euclidean) of features [n, features] has the same label."""
    distances = torch.cdist(features, features).fill_diagonal_(float("inf"))  # [n, n]
    return (labels[distances.argmin(1)] == labels).float().mean().item()


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
    _show(
        figure.add_subplot(grid[0, 0]),
        task.query_x[query],
        f"query\ntrue {true}, predicted {predicted}",
        "black" if predicted == true else "red",
    )
    for label in range(ways):
        for shot in range(shots):
            ax = figure.add_subplot(grid[label, 1 + shot])
            _show(ax, task.support_x[label * shots + shot], "support" if label == 0 and shot == 0 else None)
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
        queries_2d[:, 0], queries_2d[:, 1], marker="x", s=28, color=_label_colours(query_y, ways), label="queries"
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
    ax.scatter(support_2d[:, 0], support_2d[:, 1], s=30, color=_label_colours(task.support_y, ways), label="support")
    ax.scatter(
        prototypes_2d[:, 0],
        prototypes_2d[:, 1],
        marker="*",
        s=380,
        color=_label_colours(range(ways), ways),
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
    from fewshot_lab.methods import build_learner

    bad = [size for size in support_sizes if size < ways or size % ways]
    if bad:
        raise ValueError(f"support sizes must be multiples of ways={ways} (ways * shots), got {bad}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
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
    with evaluation_mode(learner), torch.no_grad():
        for _ in range(repeats + 1):
            started = time.perf_counter()
            learner.adapt(support_x, support_y)(query_x)
            runs.append(time.perf_counter() - started)
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


def adaptation_time(
    learner,
    dataset: FewShotDataset,
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    tasks: int = 10,
    split: str = "test",
    seed: int = 0,
) -> float:
    """The median wall-clock seconds a learner takes to learn one task from its support set and label its
    queries (learner.adapt, then the task model on the query set), over `tasks` seeded tasks, in eval mode."""
    from fewshot_lab.data import make_sampler

    if not isinstance(tasks, int) or tasks < 1:
        raise ValueError(f"tasks must be a positive integer, got {tasks!r}")
    runs = []
    with evaluation_mode(learner) as device:
        for task in make_sampler(dataset, split, ways=ways, shots=shots, queries=queries, seed=seed).take(tasks):
            task = task.to(device)
            started = time.perf_counter()
            task_scores(learner, task.support_x, task.support_y, task.query_x)
            runs.append(time.perf_counter() - started)
    return float(np.median(runs))


def plot_accuracy_and_time(evaluations: dict, seconds: dict):
    """Accuracy and cost side by side, a row per method and a bar per number of shots: the accuracy with its 95% CI
    (left) and the time to adapt to one task (right, log scale).

    evaluations: {(method, shots): Evaluation}; seconds: {(method, shots): seconds}, the same keys
    (adaptation_time measures them).
    """
    if set(evaluations) != set(seconds):
        raise ValueError(
            f"evaluations and seconds need the same (method, shots) keys; only one of them has "
            f"{sorted(set(evaluations) ^ set(seconds), key=str)}"
        )
    methods = list(dict.fromkeys(method for method, _ in evaluations))
    shot_counts = sorted({shots for _, shots in evaluations})
    height = 0.8 / len(shot_counts)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 0.35 * len(evaluations) + 1.5), sharey=True)
    palette = plt.get_cmap("tab10")
    for index, shots in enumerate(shot_counts):
        rows = [(row, method) for row, method in enumerate(methods) if (method, shots) in evaluations]
        y = [row + (index - (len(shot_counts) - 1) / 2) * height for row, _ in rows]
        results = [evaluations[method, shots] for _, method in rows]
        times = [seconds[method, shots] for _, method in rows]
        left.barh(
            y,
            [r.mean for r in results],
            height,
            xerr=[r.ci95 for r in results],
            capsize=3,
            color=palette(index),
            label=f"{shots}-shot",
        )
        right.barh(y, times, height, color=palette(index), label=f"{shots}-shot")
        for position, result, time_taken in zip(y, results, times):
            left.text(result.mean + result.ci95 + 0.005, position, f"{100 * result.mean:.1f}%", va="center", fontsize=7)
            right.text(time_taken * 1.1, position, f"{1000 * time_taken:.0f} ms", va="center", fontsize=7)
    left.set_yticks(range(len(methods)), methods)
    left.invert_yaxis()
    lowest = min(r.mean - r.ci95 for r in evaluations.values())
    left.set_xlim(max(0.0, lowest - 0.05), 1.06)
    left.set_xlabel("accuracy on test tasks (95% CI)")
    right.set_xscale("log")
    right.set_xlim(right=max(seconds.values()) * 4)
    right.set_xlabel("seconds to adapt to one task and label its queries (median)")
    first = next(iter(evaluations.values()))
    left.set_title(f"{first.ways}-way tasks of {first.dataset}", fontsize=9)
    right.set_title("what it costs per task", fontsize=9)
    right.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    return figure

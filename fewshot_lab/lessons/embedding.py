"""Where an embedding puts images of unseen classes (notebooks 7.4 and 7.5): a 2-D PCA view of the features, and
the leave-one-out nearest-neighbour accuracy measured in the full feature space."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from fewshot_lab.data.dataset import FewShotDataset
from fewshot_lab.evaluation import evaluation_mode
from fewshot_lab.lessons.drawing import label_colours, short_label


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
                color=label_colours([label], len(chosen))[0],
                label=short_label(dataset.classes[class_index].name, 18),
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

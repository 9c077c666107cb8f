"""Nearest neighbours in an embedding space (section 7.4, the non-parametric model).

A query takes the label of its nearest support example (k-NN with k >= 1), or of the nearest class
centroid (the mean support embedding of a class). With no embedding this is pixel-space nearest
neighbour, the floor every learned method must beat. Adapting costs one forward pass of the support
set and changes no weights, so nothing learned before is forgotten.
"""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.checks import check_positive_int
from fewshot_lab.learner import Learner


def class_means(features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The mean feature vector of each label 0..ways-1, whatever the order of the examples."""
    ways = int(labels.max()) + 1
    one_hot = nn.functional.one_hot(labels, ways).to(features.dtype)  # [examples, ways]
    return one_hot.T @ features / one_hot.sum(0).unsqueeze(1)  # [ways, features]


class NearestNeighbour(Learner):
    """k-NN or nearest-centroid classification on embeddings (on raw pixels when embedding is None)."""

    method = "nearest"

    def __init__(self, embedding: nn.Module | None = None, k: int = 1, rule: str = "neighbour"):
        super().__init__()
        if rule not in ("neighbour", "centroid"):
            raise ValueError(f"rule must be 'neighbour' (k-NN) or 'centroid' (nearest class mean), got {rule!r}")
        check_positive_int("k", k)
        self.embedding = embedding if embedding is not None else nn.Flatten()
        self.k, self.rule = k, rule

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        ways = int(support_y.max()) + 1
        support = self.embedding(support_x)  # [ways * shots, features]
        if self.rule == "centroid":
            centroids = class_means(support, support_y)  # [ways, features]
            return lambda query_x: -(torch.cdist(self.embedding(query_x), centroids) ** 2)
        k = min(self.k, len(support_y))

        def scores(query_x: torch.Tensor) -> torch.Tensor:
            distances = torch.cdist(self.embedding(query_x), support)  # [queries, ways * shots]
            nearest = distances.topk(k, dim=1, largest=False)
            votes = nn.functional.one_hot(support_y[nearest.indices], ways).float().sum(1)  # [queries, ways]
            closest = torch.full_like(votes, float("inf")).scatter_reduce(
                1, support_y.expand_as(distances), distances, reduce="amin"
            )  # [queries, ways], each class's nearest example
            rank = closest.argsort(dim=1, stable=True).argsort(dim=1)  # [queries, ways], 0 for the nearest class
            # ties in votes go to the class with the nearest example: rank / ways < 1 never outweighs a vote
            return votes - rank / ways

        return scores

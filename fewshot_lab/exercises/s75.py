"""Exercises of notebook 7.5 (metric learning and attention): the prototypes of Prototypical Networks
(eq. 1), their scores -||f(x) - c_k||^2 (eq. 2), and the cosine attention of Matching Networks (eq. 2)."""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.exercises import call, checker, expect
from fewshot_lab.methods.matching import MatchingNetwork
from fewshot_lab.methods.nearest import class_means


def embedded_support(order: str, ways: int = 5, shots: int = 3, features: int = 8, seed: int = 0):
    """Embedded support [ways * shots, features] and labels [ways * shots], "label-major" or "shuffled"."""
    generator = torch.Generator().manual_seed(seed)
    support_y = torch.arange(ways).repeat_interleave(shots)
    if order == "shuffled":
        support_y = support_y[torch.randperm(ways * shots, generator=generator)]
    return torch.randn(ways * shots, features, generator=generator), support_y


@checker
def check_prototypes(prototypes):
    """prototypes(support, support_y) -> c_k, the mean embedded support example of each class, [ways, features]."""
    for order in ("label-major", "shuffled"):
        support, support_y = embedded_support(order)
        by_blocks = support.view(5, 3, 8)  # [ways, shots, features], right only for a label-major support
        expect(
            call(prototypes, support, support_y),
            class_means(support, support_y),
            f"the prototypes of a {order} support set",
            mistakes={
                "Did you average over the shots dimension with keepdim=True?": by_blocks.mean(1, keepdim=True),
                "this is the mean of the whole support set: average each class on its own": support.mean(0),
                "these are sums over the shots; a prototype is their mean (divide by the shots)": class_means(
                    support, support_y
                )
                * 3,
                "the support set may come in any order: reshaping into [ways, shots, features] mixes "
                "classes; average the items with support_y == k": by_blocks.mean(1),
                "reshaping into [shots, ways, features] assumes an order the support set does not "
                "have; average the items with support_y == k": support.view(3, 5, 8).mean(0),
            },
        )
    return "Right: c_k is the mean of class k's embedded shots, whatever order the support set comes in (eq. 1)."


@checker
def check_prototype_scores(prototype_scores):
    """prototype_scores(query, prototypes) -> -||f(x) - c_k||^2 for every query and class, [queries, ways]."""
    generator = torch.Generator().manual_seed(1)
    query, prototypes = torch.randn(7, 8, generator=generator), torch.randn(5, 8, generator=generator)
    distances = torch.cdist(query, prototypes)  # [queries, ways]
    expect(
        call(prototype_scores, query, prototypes),
        -(distances**2),
        "the scores",
        mistakes={
            "these are distances: a score must be higher for a closer prototype, so negate them": distances**2,
            "Prototypical Networks use the squared Euclidean distance; square it (this is the plain one)": -distances,
            "transpose: one row per query, one column per class, [queries, ways]": -(distances.T**2),
            "Did you sum the squared differences over the wrong dimension? Sum over the features (the "
            "last one) of query[:, None] - prototypes[None]": -((query[:, None] - prototypes[None]) ** 2).sum(1),
        },
    )
    return (
        "Right: -||f(x) - c_k||^2 = 2 c_k·f(x) - ||c_k||^2 - ||f(x)||^2, a linear classifier in f(x) plus a term "
        "equal for every class."
    )


@checker
def check_cosine_attention(cosine_attention):
    """cosine_attention(query, support) -> a(x_hat, x_i) = softmax_i cos(f(x_hat), g(x_i)), [queries, support]."""
    generator = torch.Generator().manual_seed(2)
    query, support = torch.randn(4, 8, generator=generator), 3 * torch.randn(6, 8, generator=generator)
    cosine = nn.functional.normalize(query, dim=1) @ nn.functional.normalize(support, dim=1).T  # [queries, support]
    expect(
        call(cosine_attention, query, support),
        MatchingNetwork(nn.Identity(), scale=1.0).log_attention(query, support).exp(),
        "the attention",
        mistakes={
            "these are the cosine similarities; the attention is their softmax over the support items": cosine,
            "the softmax ran over the queries (dim=0); each query's weights over the support set must sum "
            "to 1 (dim=1)": cosine.softmax(dim=0),
            "this is a softmax of dot products; divide by the norms first (cosine similarity), or long "
            "embeddings drown out short ones": (query @ support.T).softmax(dim=1),
        },
    )
    return (
        "Right: each query spreads one unit of attention over the support set; "
        "its label is the attention-weighted vote."
    )

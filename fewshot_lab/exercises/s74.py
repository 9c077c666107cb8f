"""Exercises of notebook 7.4 (two simple models): nearest-centroid and 1-NN classification of embedded
queries, and the first gradient step of fine-tuning a new linear head on the support set."""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.exercises import call, checker, expect, require
from fewshot_lab.methods.nearest import NearestNeighbour


def embedded_task(seed: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 3-way 3-shot task in a 2-D embedding: support [9, 2] in shuffled order, its labels [9], queries [12, 2]."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [2.0, 0.0], [1.0, 1.7]])  # [ways, features]
    support_y = torch.randperm(9, generator=generator) % 3  # [ways * shots], shuffled
    support = centres[support_y] + 0.9 * torch.randn(9, 2, generator=generator)
    query = centres[torch.arange(12) % 3] + 0.9 * torch.randn(12, 2, generator=generator)
    return support, support_y, query


def predictions(rule: str, support, support_y, query) -> torch.Tensor:
    """The package's labels for each query by `rule` ("centroid" or "neighbour", 1-NN), [queries]."""
    return NearestNeighbour(rule=rule).adapt(support, support_y)(query).argmax(dim=1)


@checker
def check_nearest_centroid(nearest_centroid):
    """nearest_centroid(support, support_y, query) -> the label of the nearest class mean, for each query."""
    support, support_y, query = embedded_task()
    centroids = torch.stack([support[support_y == label].mean(0) for label in range(3)])  # [ways, features]
    distances = torch.cdist(query, centroids)  # [queries, ways]
    expect(
        call(nearest_centroid, support, support_y, query),
        predictions("centroid", support, support_y, query),
        "the predicted labels",
        mistakes={
            "these are the labels of the nearest single support example (1-NN); average each class's "
            "shots into its centroid first": predictions("neighbour", support, support_y, query),
            (
                "these are the farthest centroids: take argmin of the distances (or argmax of minus them)"
            ): distances.argmax(dim=1),
            "you took one centroid per block of 3 support items, but the support set comes in any order: "
            "average the items with support_y == k": torch.cdist(query, support.view(3, 3, 2).mean(1)).argmin(1),
        },
    )
    return "Right: one mean per class, then the nearest one; with one shot this is exactly 1-NN."


@checker
def check_one_nn(one_nn):
    """one_nn(support, support_y, query) -> the label of the nearest support example, for each query."""
    support, support_y, query = embedded_task()
    nearest = torch.cdist(query, support).argmin(dim=1)  # [queries], positions in the support set
    expect(
        call(one_nn, support, support_y, query),
        predictions("neighbour", support, support_y, query),
        "the predicted labels",
        mistakes={
            (
                "these are the positions of the nearest support examples; return their labels, support_y[nearest]"
            ): nearest,
            (
                "these are nearest-centroid labels; 1-NN takes the label of the single nearest support example"
            ): predictions("centroid", support, support_y, query),
        },
    )
    return "Right: 1-NN learns nothing at test time; the embedding does all the work."


@checker
def check_head_step(head_step):
    """head_step(weight, bias, features, labels, lr) -> (weight, bias) after one gradient-descent step on the
    cross-entropy of the linear head features @ weight.T + bias over the support set."""
    support, support_y, _ = embedded_task()
    lr = 0.5
    weight, bias = torch.zeros(3, 2, requires_grad=True), torch.zeros(3, requires_grad=True)  # a new head, at zero
    loss = nn.functional.cross_entropy(support @ weight.T + bias, support_y)
    weight_gradient, bias_gradient = torch.autograd.grad(loss, (weight, bias))
    answer = call(head_step, weight.detach(), bias.detach(), support, support_y, lr)
    require(
        isinstance(answer, tuple) and len(answer) == 2,
        f"head_step returned {type(answer).__name__}; return the pair `return new_weight, new_bias`",
    )
    mistakes = {
        "these are the gradients, not the new weights: return weight - lr * gradient": weight_gradient,
        "these weights climb the loss: a descent step subtracts lr * gradient": lr * weight_gradient,
        "the loss was summed over the support set; cross_entropy averages it (reduction='mean'), as FineTuner does": -lr
        * len(support)
        * weight_gradient,
    }
    expect(answer[0], -lr * weight_gradient, "the new weight", mistakes=mistakes)
    expect(answer[1], -lr * bias_gradient, "the new bias")
    return (
        "Right. From zero weights, row k moves towards the mean support feature of class k (minus the overall "
        "mean): the first step of fine-tuning a new head is a nearest-centroid rule."
    )

"""Prototypical Networks (Snell, Swersky & Zemel 2017), section 7.4: a class is the mean of its support.

An embedding f is meta-trained so that each class clusters around one point, its prototype:

    c_k = 1/|S_k| * sum_{(x_i, y_i) in S_k} f(x_i)                     (eq. 1: mean embedded support of class k)
    p(y = k | x) = exp(-d(f(x), c_k)) / sum_k' exp(-d(f(x), c_k'))    (eq. 2)
    d(z, z') = ||z - z'||^2                                           (squared Euclidean distance)

Training episode (Algorithm 1): embed the support set, average it per class, score every query by
its negative squared distance to each prototype, and minimise the cross-entropy J = -log p(y = k | x)
over the query set (Learner.query_loss). With the squared Euclidean distance this is a linear classifier
on f(x) with weights 2 c_k and biases -||c_k||^2, which is why it works so well with few shots.
"""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.backbones import conv4
from fewshot_lab.learner import Learner
from fewshot_lab.methods.nearest import class_means


class PrototypicalNetwork(Learner):
    """Scores a query by -||f(x) - c_k||^2 for each class prototype c_k.

    embedding: the network f, [batch, C, H, W] -> [batch, features]; conv4() (1-channel images) by
    default, e.g. PrototypicalNetwork(conv4_small(3)) for small RGB images.
    """

    method = "protonet"
    compares_embeddings = True

    def __init__(self, embedding: nn.Module | None = None):
        super().__init__()
        if embedding is not None and not isinstance(embedding, nn.Module):
            raise TypeError(f"embedding must be a torch.nn.Module, got {type(embedding).__name__}")
        self.embedding = embedding if embedding is not None else conv4()

    def prototypes(self, support_x: torch.Tensor, support_y: torch.Tensor) -> torch.Tensor:
        """c_k, the mean embedded support example of each class (the support may come in any order)."""
        return class_means(self.embedding(support_x), support_y)  # [ways, features]

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        prototypes = self.prototypes(support_x, support_y)  # [ways, features]

        def scores(query_x: torch.Tensor) -> torch.Tensor:
            query = self.embedding(query_x)  # [queries, features]
            return -((query.unsqueeze(1) - prototypes) ** 2).sum(-1)  # [queries, ways], -d(f(x), c_k)

        return scores

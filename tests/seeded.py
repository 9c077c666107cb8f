"""A check that several tests share: the same seeded training run, made twice, ends at the same weights."""

import torch

from fewshot_lab.engine import meta_train


def trains_identically_twice(make_learner, dataset, **options) -> bool:
    """Train a fresh make_learner() twice with meta_train(dataset, **options); True if the weights are equal."""
    weights = []
    for _ in range(2):
        learner = make_learner()
        meta_train(learner, dataset, progress=False, **options)
        weights.append(torch.cat([parameter.detach().flatten() for parameter in learner.parameters()]))  # [weights]
    return torch.equal(*weights)

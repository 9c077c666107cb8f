"""Meta-SGD (Li, Zhou, Chen & Li 2017, "Meta-SGD: Learning to Learn Quickly for Few-Shot Learning"), section 7.8.

MAML (fewshot_lab.methods.maml) with the inner loop's step size alpha no longer a number but a meta-learned tensor of
the shape of theta:

    theta'_i = theta - alpha (elementwise *) grad_theta L_{S_i}(f_theta)     (inner loop: a step size per weight)
    min_{theta, alpha}  sum_i L_{Q_i}(f_{theta'_i})                           (outer loop: theta and alpha together)

A learned step size and direction for every weight: alpha starts at inner_lr everywhere, and a step size may turn
negative, which the paper allows.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from fewshot_lab.methods.maml import MAML


class MetaSGD(MAML):
    """Meta-SGD (Li et al. 2017): theta' = theta - alpha (*) grad L_S, with alpha meta-learned per weight."""

    method = "metasgd"

    @functools.wraps(MAML.__init__)  # MAML's parameters, and its signature for build_learner
    def __init__(self, *args, **options):
        super().__init__(*args, **options)
        self.alpha = nn.ParameterList(
            [nn.Parameter(torch.full_like(weight, self.inner_lr)) for weight in self.network.parameters()]
        )

    def step_sizes(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.fast_parameters(), self.alpha))

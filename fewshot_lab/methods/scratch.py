"""Learning each task from scratch: the baseline that meta-learning is measured against (section 7.1).

Every task gets a freshly initialised small network, trained on its support set alone by gradient
descent. Nothing carries over from one task to the next, so with one example per class it can only
fit the support pixels: "learning from experience" without "learning to learn".
"""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.learner import Learner


def small_convnet(in_channels: int, ways: int, hidden: int = 16) -> nn.Sequential:
    """[batch, in_channels, 28, 28] -> [batch, ways]: two conv layers and a linear classifier."""
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(hidden, hidden, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(hidden * 16, ways),
    )


class ScratchLearner(Learner):
    """Trains a new small convnet on each task's support set for `steps` Adam steps."""

    method = "scratch"

    adapts_with_gradients = True

    def __init__(self, steps: int = 50, lr: float = 1e-2, hidden: int = 16, seed: int = 0):
        super().__init__()
        if steps < 0:
            raise ValueError(f"steps must be 0 or more, got {steps}")
        self.steps, self.lr, self.hidden, self.seed = steps, lr, hidden, seed

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        ways = int(support_y.max()) + 1
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(self.seed)  # the same fresh start for every task
        network = small_convnet(support_x.shape[1], ways, self.hidden).to(support_x.device)
        torch.random.set_rng_state(generator_state)
        optimizer = torch.optim.Adam(network.parameters(), lr=self.lr)
        for _ in range(self.steps):
            loss = nn.functional.cross_entropy(network(support_x), support_y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        network.eval()
        return lambda query_x: network(query_x).detach()

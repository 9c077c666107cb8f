"""Reptile (Nichol, Achiam & Schulman 2018, "On First-Order Meta-Learning Algorithms"), section 7.8.

No meta-gradient at all. For each task T_i of a meta-batch of n tasks (Algorithm 2, the batched version):

    theta~_i = SGD(L_{T_i}, theta, k)                       (k steps of plain SGD on the task's examples)
    theta <- theta + epsilon * (1/n sum_i theta~_i - theta)  (move the initial weights towards where they went)

Like MAML (fewshot_lab.methods.maml), Reptile learns an initialisation that a few gradient steps adapt to a task,
and a task is adapted at test time the same way, by SGD steps on its support set. Unlike MAML it needs no second
derivatives and no graph through the inner loop, so memory does not grow with the number of inner steps.
"""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.evaluation import accuracy
from fewshot_lab.methods.maml import MAML


class Reptile(MAML):
    """Reptile (Nichol et al. 2018, Algorithm 2, batched version).

    For each task of the meta-batch: `inner_steps` steps of plain SGD (step size inner_lr) on the task's
    examples, support and query together, give theta~_i; the meta-update moves theta towards their mean,
    theta <- theta + epsilon * (mean_i theta~_i - theta). The engine's optimiser takes that step: the
    training loss is 1/2 ||theta - mean_i theta~_i||^2, whose gradient is theta - mean_i theta~_i, so its
    learning rate plays epsilon; the optimiser here is Adam, which normalises the step per weight (the paper's
    code interpolates with a plain step, and uses Adam in the inner loop). No
    second derivatives and no graph through the inner loop: memory does not grow with inner_steps.
    A task is adapted at test time as in MAML, by SGD steps on its support set (test_inner_steps).

    The accuracy it reports while meta-training is that of theta~ on the query images after the inner loop,
    which has trained on them: a training accuracy.
    """

    method = "reptile"

    def __init__(
        self,
        embedding: nn.Module,
        features: int,
        ways: int = 5,
        inner_steps: int = 5,
        inner_lr: float = 0.1,
        test_inner_steps: int | None = None,
        transductive: bool = True,
    ):
        super().__init__(embedding, features, ways, inner_steps, inner_lr, test_inner_steps, True, transductive, "loop")

    def check_precision(self, precision: str) -> None:
        raise ValueError(
            f"precision={precision!r} would lower only Reptile's inner loop, its one pass through the network, and the "
            f"MAML family keeps its inner loops in float32 (their rounding compounds from step to step): train "
            f"Reptile with precision='fp32'"
        )

    def training_loss(self, batch) -> tuple[torch.Tensor, float]:
        meta_parameters = self.fast_parameters()
        targets = {name: torch.zeros_like(weight) for name, weight in meta_parameters.items()}
        scores = []
        for index in range(len(batch.support_y)):
            task = batch.select(index)
            self._check_task(task.support_x, task.support_y)
            examples_x = torch.cat([task.support_x, task.query_x])  # the task's data, support and query together
            examples_y = torch.cat([task.support_y, task.query_y])
            adapted = self.inner_loop(
                examples_x,
                examples_y,
                parameters={name: weight.detach().requires_grad_() for name, weight in meta_parameters.items()},
            )
            with torch.no_grad():
                for name, weight in adapted.items():
                    targets[name] += weight / len(batch.support_y)
                scores.append(self.functional(adapted, task.query_x))
        loss = sum(0.5 * ((weight - targets[name]) ** 2).sum() for name, weight in meta_parameters.items())
        return loss, accuracy(torch.stack(scores), batch.query_y)

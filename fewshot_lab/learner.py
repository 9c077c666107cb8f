"""The one protocol every method follows (easyfsl's two steps, kept functional).

    task_model = learner.adapt(support_x, support_y)   # learn from the support set of one task
    scores = task_model(query_x)                        # [queries, ways] class scores (or [queries, 1] for regression)

adapt returns a new callable instead of changing the learner, so tasks cannot leak into one another
and a meta-training loop can differentiate through adaptation (as MAML needs). Every family fits:
a metric learner's adapt embeds the support set; a memory network's adapt reads the support set as a
sequence into its memory; a learned optimizer's or MAML's adapt takes steps on the support loss.
"""
from __future__ import annotations

import torch
from torch import nn


class Learner(nn.Module):
    """Base class for few-shot learners: subclasses implement adapt().

    adapts_with_gradients: True for learners whose adapt() takes gradient steps (fine-tuning, MAML,
    learned optimizers); evaluation then keeps autograd on, and turns it off for all others.
    """

    adapts_with_gradients = False

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        """Return a model of the task: a callable mapping query_x to scores."""
        raise NotImplementedError

    def predict(self, support_x: torch.Tensor, support_y: torch.Tensor, query_x: torch.Tensor) -> torch.Tensor:
        """The predicted label of each query image."""
        with torch.set_grad_enabled(self.adapts_with_gradients):
            return self.adapt(support_x, support_y)(query_x).argmax(dim=-1)


def task_scores(learner, task) -> torch.Tensor:
    """Scores of a task's query set after adapting to its support set (autograd only where adapt needs it)."""
    with torch.set_grad_enabled(getattr(learner, "adapts_with_gradients", False)):
        return learner.adapt(task.support_x, task.support_y)(task.query_x)

"""The one protocol every method follows (easyfsl's two steps, kept functional).

    task_model = learner.adapt(support_x, support_y)   # learn from the support set of one task
    scores = task_model(query_x)                        # [queries, ways] class scores (or [queries, 1] for regression)
    loss = learner.meta_loss(task)                      # what meta-training minimises on one task

adapt returns a new callable instead of changing the learner, so tasks cannot leak into one another
and a meta-training loop can differentiate through adaptation (as MAML needs). Every family fits:
a metric learner's adapt embeds the support set; a memory network's adapt reads the support set as a
sequence into its memory; a learned optimizer's or MAML's adapt takes steps on the support loss.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn


class Learner(nn.Module):
    """Base class for few-shot learners: subclasses implement adapt().

    adapts_with_gradients: True for learners whose adapt() takes gradient steps (fine-tuning, MAML,
    learned optimizers); evaluation then keeps autograd on, and turns it off for all others.
    """

    adapts_with_gradients = False
    method = "learner"  # the name the CLI, checkpoints and fewshot_lab.load know it by

    saved_config: dict | None = None  # set by fewshot_lab.methods.build_learner

    def config(self) -> dict:
        """The arguments (plain values) that rebuild this learner by name: saved in checkpoints."""
        if self.saved_config is None:
            raise ValueError(
                f"this {type(self).__name__} was built around a custom module, so it cannot be saved by "
                f"name; build it with fewshot_lab.methods.build_learner(method, backbone=...) instead"
            )
        return dict(self.saved_config)

    def training_stream(self, dataset, ways: int, shots: int, queries: int, meta_batch: int, seed: int):
        """What meta-training draws from: meta-batches of episodes from the train split (episodic training)."""
        from fewshot_lab.data import make_sampler
        from fewshot_lab.data.tasks import MetaBatches

        return MetaBatches(
            make_sampler(dataset, "train", ways=ways, shots=shots, queries=queries, seed=seed), meta_batch
        )

    def training_loss(self, batch) -> tuple[torch.Tensor, float]:
        """The mean query loss over a meta-batch of tasks, and the query accuracy (nan for regression)."""
        losses, correct, total = [], 0, 0
        for index in range(len(batch.support_y)):  # tasks in the meta-batch
            task = batch.select(index)
            loss, scores = self.episode(task)
            losses.append(loss)
            if not task.query_y.is_floating_point():
                correct += (scores.argmax(-1) == task.query_y).sum().item()
                total += task.query_y.numel()
        return torch.stack(losses).mean(), (correct / total if total else float("nan"))

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        """Return a model of the task: a callable mapping query_x to scores."""
        raise NotImplementedError

    def meta_loss(self, task) -> torch.Tensor:
        """The query loss after adapting to the support set: episodic meta-training minimises its mean over tasks."""
        return self.episode(task)[0]

    def episode(self, task) -> tuple[torch.Tensor, torch.Tensor]:
        """(query loss, query scores) of one task: cross-entropy for classification, mean squared error for
        regression (float targets). The training engine calls this, so one forward pass gives both."""
        scores = self.adapt(task.support_x, task.support_y)(task.query_x)
        if task.query_y.is_floating_point():
            return nn.functional.mse_loss(scores, task.query_y), scores
        return nn.functional.cross_entropy(scores, task.query_y), scores

    def validation_score(self, dataset, *, ways: int, shots: int, queries: int, episodes: int, seed: int):
        """What meta-training keeps the best weights by (an Evaluation; higher accuracy or lower mean squared error
        is better): by default the learner protocol on `episodes` seeded tasks of the val split."""
        from fewshot_lab.evaluation import evaluate

        return evaluate(
            self, dataset, ways=ways, shots=shots, queries=queries, episodes=episodes, split="val", seed=seed
        )

    def predict(self, support_x: torch.Tensor, support_y: torch.Tensor, query_x: torch.Tensor) -> torch.Tensor:
        """The predicted label of each query image."""
        with torch.set_grad_enabled(self.adapts_with_gradients):
            return self.adapt(support_x, support_y)(query_x).argmax(dim=-1)


@contextlib.contextmanager
def evaluation_mode(module):
    """Run the block with `module` in eval mode (batch norm uses its running statistics and changes
    nothing), then give it back its own mode; yields the device its parameters live on."""
    was_training = getattr(module, "training", False)
    if hasattr(module, "eval"):
        module.eval()
    try:
        yield next((parameter.device for parameter in getattr(module, "parameters", list)()), torch.device("cpu"))
    finally:
        if was_training:
            module.train()


def task_scores(learner, task) -> torch.Tensor:
    """Scores of a task's query set after adapting to its support set (autograd only where adapt needs it)."""
    with torch.set_grad_enabled(getattr(learner, "adapts_with_gradients", False)):
        return learner.adapt(task.support_x, task.support_y)(task.query_x)

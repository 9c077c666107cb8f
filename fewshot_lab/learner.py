"""The one protocol every method follows (easyfsl's two steps, kept functional).

What a learner provides:

    task_model = learner.adapt(support_x, support_y)   # learn one task from its support set
    scores = task_model(query_x)                        # [queries, ways] class scores (or [queries, 1] for regression)
    loss, accuracy = learner.training_loss(batch)       # what the engine minimises on one batch of its stream

adapt returns a new callable instead of changing the learner, so tasks cannot leak into one another and
meta-training can differentiate through adaptation (as MAML needs). Every family fits: a metric learner's
adapt embeds the support set; a memory network's adapt reads the support set as a sequence into its memory;
a learned optimizer's or MAML's adapt takes steps on the support loss. By default meta-training is episodic:
training_stream gives meta-batches of tasks and training_loss is the mean query loss after adapt (query_loss);
a learner trained otherwise (a classifier pretrained over all classes, a network trained on sequences) replaces
both.

What the others own: the engine (fewshot_lab.engine) owns the optimiser, the steps, validation and checkpoints;
evaluation (fewshot_lab.evaluation) owns scoring, accuracy and evaluation mode.

What a learner class declares (class attributes, read by the command line and by evaluation):
- method: the name the command line, checkpoints and fewshot_lab.load know it by;
- adapts_with_gradients: adapt takes gradient steps, so evaluation keeps autograd on for it;
- sized_by_ways: its model is built for one number of ways (it takes `ways`);
- pretrains_on_classes: it is pretrained by classification over the meta-train classes (it takes
  `train_classes`);
- compares_embeddings: it classifies by comparing embeddings of support and query, each image embedded on its own
  by `self.embedding` in evaluation mode (test-time shifted views apply to it, and evaluate embeds each image of
  its tasks once);
- takes_test_inner_steps: its inner loop may take another number of steps at test time (`test_inner_steps`);
- reads_sequences: it is trained, validated and reported on sequence episodes, by presentation (Santoro et al.);
- task_family: the generated tasks it is built for, and the only ones it takes: "copy" (the copy task: ntm,
  lstm-copy) or "stories" (questions about stories: memnet); None for image classification and regression, the
  tasks of every other method.
"""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.backbones import backbones_of
from fewshot_lab.evaluation import accuracy


class Learner(nn.Module):
    """Base class for few-shot learners: subclasses implement adapt()."""

    method = "learner"
    adapts_with_gradients = False
    sized_by_ways = False
    pretrains_on_classes = False
    compares_embeddings = False
    takes_test_inner_steps = False
    reads_sequences = False
    task_family: str | None = None

    saved_config: dict | None = None  # set by fewshot_lab.methods.build_learner

    def config(self) -> dict:
        """The arguments (plain values) that rebuild this learner by name: saved in checkpoints."""
        if self.saved_config is None:
            raise ValueError(
                f"this {type(self).__name__} was built around a custom module, so it cannot be saved by "
                f"name; build it with fewshot_lab.methods.build_learner(method, backbone=...) instead"
            )
        return dict(self.saved_config)

    def check_precision(self, precision: str) -> None:
        """Refuse, before meta-training starts, a lower training precision ("bf16") this learner cannot train in:
        it lowers the learner's conv or mlp backbones (fewshot_lab.backbones.Backbone), so a learner needs one."""
        if not backbones_of(self):
            raise ValueError(
                f"precision={precision!r} lowers the precision of a conv or mlp backbone, and this "
                f"{self.method} learner has none; train it with precision='fp32'"
            )

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        """Return a model of the task: a callable mapping query_x to scores."""
        raise NotImplementedError

    def training_stream(self, dataset, ways: int, shots: int, queries: int, meta_batch: int, seed: int):
        """What meta-training draws from: meta-batches of episodes from the train split (episodic training)."""
        from fewshot_lab.data import make_sampler
        from fewshot_lab.data.tasks import MetaBatches

        return MetaBatches(
            make_sampler(dataset, "train", ways=ways, shots=shots, queries=queries, seed=seed), meta_batch
        )

    def training_loss(self, batch) -> tuple[torch.Tensor, float]:
        """The mean query loss over a meta-batch of tasks, and the query accuracy (nan for regression)."""
        losses, scores = zip(*(self.query_loss(batch.select(index)) for index in range(len(batch.support_y))))
        return torch.stack(losses).mean(), accuracy(torch.stack(scores), batch.query_y)

    def query_loss(self, task) -> tuple[torch.Tensor, torch.Tensor]:
        """The query loss of one task after adapting to its support set, and the query scores: cross-entropy for
        classification, mean squared error for regression (float targets)."""
        scores = self.adapt(task.support_x, task.support_y)(task.query_x)
        return task_loss(scores, task.query_y), scores


def task_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for class labels, mean squared error for regression (float targets)."""
    if targets.is_floating_point():
        return nn.functional.mse_loss(scores, targets)
    return nn.functional.cross_entropy(scores, targets)

"""A network run on other weights, task by task: the plumbing the MAML family shares (fewshot_lab.methods.maml,
fewshot_lab.methods.reptile), kept out of the algorithms.

    network = FunctionalNetwork(nn.Sequential(body, head), transductive=True)
    scores = network(parameters, x)                  # f(x) on the weights `parameters`, torch.func.functional_call
    losses, scores = network.vmap_over_tasks(one_task, parameters, batch)   # every task of a meta-batch at once
    loss, scores = mean_loss_task_by_task(query_loss, batch, meta_parameters)  # or one task at a time

Three choices live here:
- Batch norm. Transductive (the papers' choice): batch norm always normalises with the statistics of the batch it
  is given, at meta-training and at meta-test time, and outside meta-training its running statistics must not
  drift. Otherwise the network's own mode decides, as for any module.
- Memory format. The network runs in the default (NCHW) layout: the conv backbones come channels-last, which
  speeds up an ordinary training step but slows these per-task functional steps (results/memory_format.md).
- Batching over tasks. vmap turns each layer into one batched call over per-task weights; the loop over tasks
  keeps one task's graph alive at a time (benchmarks/maml_batching.py, results/maml_batching.md).
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.func import functional_call, vmap


def has_batch_norm(network: nn.Module) -> bool:
    return any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in network.modules())


def has_convolutions(network: nn.Module) -> bool:
    return any(isinstance(module, nn.modules.conv._ConvNd) for module in network.modules())


class FunctionalNetwork:
    """`network` called on other weights; `transductive` as in the module docstring. Its own mode (train while
    meta-training, eval otherwise) follows the learner that holds it."""

    def __init__(self, network: nn.Module, transductive: bool):
        self.network, self.transductive = network.to(memory_format=torch.contiguous_format), bool(transductive)

    def __call__(
        self, parameters: dict, x: torch.Tensor, buffers: dict | None = None, module: str = ""
    ) -> torch.Tensor:
        """f(x) with the weights replaced by `parameters` (any subset; the rest stay the network's); `module` names a
        submodule (e.g. "body") to run alone, with its own names for the weights."""
        target = self.network.get_submodule(module)
        if buffers is None:
            prefix = f"{module}." if module else ""
            buffers = {
                name.removeprefix(prefix): buffer for name, buffer in self.buffers().items() if name.startswith(prefix)
            }
        with self.batch_norm_mode():
            return functional_call(target, {**parameters, **buffers}, (x,), strict=False)

    def buffers(self) -> dict:
        """The network's buffers, or copies of them where batch norm must not record statistics: a transductive
        network outside meta-training uses batch statistics, and its running statistics must not drift."""
        buffers = dict(self.network.named_buffers())
        if self.transductive and not self.network.training:
            return {name: buffer.clone() for name, buffer in buffers.items()}
        return buffers

    @contextlib.contextmanager
    def batch_norm_mode(self):
        """Batch norm in train mode (batch statistics) when transductive, whatever the network's mode."""
        if not self.transductive or self.network.training:
            yield
            return
        norms = [module for module in self.network.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
        for module in norms:
            module.train()
        try:
            yield
        finally:
            for module in norms:
                module.eval()

    def vmap_over_tasks(self, one_task, parameters: dict, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """one_task(parameters, buffers, support_x, support_y, query_x, query_y) -> (loss, scores) for every task of
        a meta-batch at once: [tasks] losses and [tasks, queries, ways] scores.

        Inside vmap each task has its own copy of the buffers (batch norm's running statistics), and the network's
        running statistics become their mean over the tasks afterwards."""
        tasks = len(batch.support_y)
        buffers = {
            name: buffer.unsqueeze(0).repeat(tasks, *[1] * buffer.dim()) for name, buffer in self.buffers().items()
        }  # [tasks, ...] each
        losses, scores = vmap(one_task, in_dims=(None, 0, 0, 0, 0, 0))(
            parameters, buffers, batch.support_x, batch.support_y, batch.query_x, batch.query_y
        )
        if self.network.training:
            with torch.no_grad():
                for name, buffer in self.network.named_buffers():
                    buffer.copy_(buffers[name].float().mean(0).to(buffer.dtype))
        return losses, scores


def mean_loss_task_by_task(query_loss, batch, meta_parameters: list) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean of query_loss(task) -> (loss, scores) over the tasks of a meta-batch, and the scores
    [tasks, queries, ways], computed one task at a time: each task's share of the meta-gradient is taken as soon as
    its loss is known, so that only one task's graph (its inner loop) is alive at a time, as in a per-task backward.
    The loss returned has the mean as its value and the summed per-task gradients as its gradient."""
    tasks = len(batch.support_y)
    meta_gradient = [torch.zeros_like(weight) for weight in meta_parameters]
    losses, scores = [], []
    for index in range(tasks):
        loss, task_scores = query_loss(batch.select(index))
        if loss.requires_grad:
            for total, gradient in zip(
                meta_gradient, torch.autograd.grad(loss / tasks, meta_parameters, allow_unused=True)
            ):
                if gradient is not None:
                    total += gradient
        losses.append(loss.detach())
        scores.append(task_scores.detach())
    carrier = sum((weight * gradient).sum() for weight, gradient in zip(meta_parameters, meta_gradient))
    return torch.stack(losses).mean() + (carrier - carrier.detach()), torch.stack(scores)

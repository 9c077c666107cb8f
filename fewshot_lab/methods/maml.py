"""Learned initialisation, section 7.8: MAML and its family, on any nn.Module, with torch.func.

MAML (Finn, Abbeel & Levine 2017) meta-learns the initial weights theta of a network f so that a few
gradient steps on a new task's support set S_i give good weights for that task (Algorithm 2):

    theta'_i = theta - alpha * grad_theta L_{S_i}(f_theta)          (inner loop, eq. 1; `inner_steps` times)
    min_theta  sum_{T_i ~ p(T)} L_{Q_i}(f_{theta'_i})               (the meta-objective, on the query sets Q_i)
    theta <- theta - beta * grad_theta sum_i L_{Q_i}(f_{theta'_i})  (outer loop, eq. 3: Adam in the engine)

The meta-gradient goes through the inner loop, so it contains second derivatives (Hessian-vector
products). The family, all in this file:

- first-order MAML (Finn et al. 2017, section 5.2): drops them, treating grad L_S as a constant, so that
  grad_theta L_Q(theta') becomes grad_{theta'} L_Q(theta').
- Meta-SGD (Li, Zhou, Chen & Li 2017): alpha is no longer a number but a meta-learned tensor of the
  shape of theta, theta' = theta - alpha (elementwise *) grad L_S: a learned step size and direction for
  every weight.
- ANIL (Raghu, Raghu, Bengio & Vinyals 2020, "Almost No Inner Loop"): only the head adapts in the inner
  loop; the body is shared as it is by every task (feature reuse), and the inner loop gets much cheaper.
- Reptile (Nichol, Achiam & Schulman 2018): no meta-gradient at all: k steps of SGD on the task give
  theta~, and theta moves towards it, theta <- theta + epsilon * (theta~ - theta).

No special "meta" layers and no module cloning: the network is an ordinary nn.Module (Sequential(body,
head) here), run on other weights with torch.func.functional_call. Tasks of a meta-batch are either looped
over (autograd.grad per task) or batched with torch.func.vmap over torch.func.grad; `task_batching`
chooses (see MAML.__init__).

Batch norm. The papers' choice, and the default here (transductive=True): batch norm always normalises
with the statistics of the batch it is given, the support set during the inner loop and the whole query
set for predictions, at meta-training and at meta-test time. Predictions for one query then depend on the
other queries of the task (transduction), which inflates accuracy a little (../shared/docs/REFERENCES.md).
With transductive=False the query set is normalised with running statistics gathered in meta-training,
so each query is classified on its own.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from fewshot_lab.learner import Learner

TASK_BATCHING = ("auto", "loop", "vmap")


class MAML(Learner):
    """Model-Agnostic Meta-Learning, second order by default.

    embedding: the body, [batch, ...] -> [batch, features]; a linear head [features -> ways] follows it.
    ways: the head's outputs: the ways of every task it will meet (1 for regression).
    inner_steps, inner_lr: gradient steps on the support loss, and their size alpha, while meta-training.
    test_inner_steps: steps when adapting outside meta-training (default: inner_steps); MAML papers often
        take more steps at test time than in training.
    first_order: drop the second-order terms of the meta-gradient (first-order MAML).
    transductive: batch norm normalises with each batch's own statistics, queries included, as in the
        papers (see the module docstring); False uses running statistics for the queries.
    task_batching: "loop" runs the tasks of a meta-batch one after the other; "vmap" batches them with
        torch.func.vmap, which turns each layer into one batched call over per-task weights; "auto" picks
        vmap on CUDA and for networks without convolutions, and the loop for convolutional networks on a
        CPU, where per-task weights turn convolutions into grouped convolutions that run several times
        slower (benchmarks/maml_batching.py, results/maml_batching.md). vmap is refused for second-order
        meta-gradients through batch norm: torch.func's batching rule for batch norm's backward gets them
        wrong (pytorch/functorch#534; tests/test_maml.py measures it against finite differences), so "auto"
        takes the loop there too.
    """

    method = "maml"
    adapts_with_gradients = True
    first_order_default = False

    def __init__(
        self,
        embedding: nn.Module,
        features: int,
        ways: int = 5,
        inner_steps: int = 1,
        inner_lr: float = 0.4,
        test_inner_steps: int | None = None,
        first_order: bool | None = None,
        transductive: bool = True,
        task_batching: str = "auto",
    ):
        super().__init__()
        if not isinstance(embedding, nn.Module):
            raise TypeError(f"embedding must be a torch.nn.Module, got {type(embedding).__name__}")
        for name, value, least in (("features", features, 1), ("ways", ways, 1), ("inner_steps", inner_steps, 0)):
            if not isinstance(value, int) or value < least:
                raise ValueError(f"{name} must be an integer of at least {least}, got {value!r}")
        if test_inner_steps is not None and (not isinstance(test_inner_steps, int) or test_inner_steps < 0):
            raise ValueError(f"test_inner_steps must be 0 or more (or None for inner_steps), got {test_inner_steps!r}")
        if not isinstance(inner_lr, (int, float)) or not inner_lr > 0:
            raise ValueError(f"inner_lr must be a positive number, got {inner_lr!r}")
        if task_batching not in TASK_BATCHING:
            raise ValueError(f"task_batching must be one of {', '.join(TASK_BATCHING)}, got {task_batching!r}")
        self.network = nn.Sequential()
        self.network.add_module("body", embedding)
        self.network.add_module("head", nn.Linear(features, ways))
        # The default (NCHW) layout: the conv backbones come channels-last, which speeds up an ordinary
        # training step but slows this family's per-task functional steps (results/memory_format.md).
        self.network.to(memory_format=torch.contiguous_format)
        self.features, self.ways = features, ways
        self.inner_steps, self.inner_lr, self.test_inner_steps = inner_steps, float(inner_lr), test_inner_steps
        self.first_order = self.first_order_default if first_order is None else bool(first_order)
        self.transductive, self.task_batching = bool(transductive), task_batching
        if task_batching == "vmap" and self._second_order_through_batch_norm():
            raise ValueError(
                "task_batching='vmap' gives wrong second-order meta-gradients through batch norm "
                "(pytorch/functorch#534): use task_batching='loop' (or 'auto'), first_order=True, "
                "or a network without batch norm"
            )

    @property
    def embedding(self) -> nn.Module:
        return self.network.body

    # ---- what adapts, and how far ----------------------------------------------------------------------

    def fast_parameters(self) -> dict[str, torch.Tensor]:
        """The meta-parameters the inner loop starts from and changes: every weight of the network
        (ANIL: the head's only). Keys as in network.named_parameters()."""
        return dict(self.network.named_parameters())

    def step_sizes(self) -> dict[str, torch.Tensor | float]:
        """alpha for each fast parameter: one number for MAML (a tensor per parameter for Meta-SGD)."""
        return dict.fromkeys(self.fast_parameters(), self.inner_lr)

    def steps(self) -> int:
        if self.training or self.test_inner_steps is None:
            return self.inner_steps
        return self.test_inner_steps

    # ---- the network on other weights --------------------------------------------------------------------

    def forward_with(self, parameters: dict, x: torch.Tensor, buffers: dict | None = None) -> torch.Tensor:
        """f(x) with the network's weights replaced by `parameters` (any subset; the rest stay the network's)."""
        buffers = self._buffers_for_call() if buffers is None else buffers
        with self._batch_norm_mode():
            return functional_call(self.network, {**parameters, **buffers}, (x,), strict=False)

    def _buffers_for_call(self) -> dict:
        """The network's buffers, or copies of them where batch norm must not record statistics: a transductive
        learner outside meta-training uses batch statistics, and its running statistics must not drift."""
        buffers = dict(self.network.named_buffers())
        if self.transductive and not self.training:
            return {name: buffer.clone() for name, buffer in buffers.items()}
        return buffers

    @contextlib.contextmanager
    def _batch_norm_mode(self):
        """Batch norm in train mode (batch statistics) when transductive, whatever the learner's mode."""
        if not self.transductive or self.training:
            yield
            return
        norms = [m for m in self.network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for module in norms:
            module.train()
        try:
            yield
        finally:
            for module in norms:
                module.eval()

    def loss(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if targets.is_floating_point():
            return nn.functional.mse_loss(scores, targets)
        return nn.functional.cross_entropy(scores, targets)

    # ---- the inner loop ----------------------------------------------------------------------------------

    def inner_loop(
        self, support_x: torch.Tensor, support_y: torch.Tensor, steps: int | None = None, parameters: dict | None = None
    ) -> dict[str, torch.Tensor]:
        """theta'_i: `steps` gradient steps on the support loss from `parameters` (default: the meta-parameters).

        While meta-training (second order) the steps are kept in the autograd graph, so that the
        meta-gradient flows through them; first order, and outside meta-training, they are not."""
        parameters = self.fast_parameters() if parameters is None else parameters
        steps = self.steps() if steps is None else steps
        alphas = self.step_sizes()
        create_graph = self.training and not self.first_order
        support_scores = self.support_scores(support_x)
        for _ in range(steps):
            loss = self.loss(support_scores(parameters), support_y)
            gradients = torch.autograd.grad(loss, list(parameters.values()), create_graph=create_graph)
            parameters = {
                name: weight - alphas[name] * gradient
                for (name, weight), gradient in zip(parameters.items(), gradients)
            }
        return parameters

    def support_scores(self, support_x: torch.Tensor):
        """parameters -> f(support_x) on those weights: what the inner loop differentiates."""
        return lambda parameters: self.forward_with(parameters, support_x)

    def _check_task(self, support_x: torch.Tensor, support_y: torch.Tensor):
        if len(support_x) == 0:
            raise ValueError("the support set is empty: MAML needs at least one labelled example to adapt")
        if not support_y.is_floating_point() and int(support_y.max()) >= self.ways:
            raise ValueError(
                f"this {self.method} learner has a {self.ways}-way head, but the task has "
                f"{int(support_y.max()) + 1} ways: build one with ways={int(support_y.max()) + 1}"
            )

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor, steps: int | None = None):
        """The task model after the inner loop on the support set (`steps` steps; default: see steps())."""
        self._check_task(support_x, support_y)
        with torch.enable_grad():  # the inner loop differentiates, even where the caller turned autograd off
            parameters = self.inner_loop(support_x, support_y, steps)
        if not self.training:
            parameters = {name: weight.detach() for name, weight in parameters.items()}

        def scores(query_x: torch.Tensor) -> torch.Tensor:
            return self.forward_with(parameters, query_x)  # [queries, ways]

        return scores

    # ---- the outer loop: one meta-batch ------------------------------------------------------------------

    def _second_order_through_batch_norm(self) -> bool:
        return not self.first_order and any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.network.modules()
        )

    def uses_vmap(self, device: torch.device) -> bool:
        if self.task_batching != "auto":
            return self.task_batching == "vmap"
        if self._second_order_through_batch_norm():
            return False
        has_convolutions = any(isinstance(m, nn.modules.conv._ConvNd) for m in self.network.modules())
        return device.type == "cuda" or not has_convolutions

    def training_loss(self, batch) -> tuple[torch.Tensor, float]:
        """The meta-objective: the mean query loss after the inner loop, over the tasks of the meta-batch.

        Looping over tasks, each task's share of the meta-gradient is taken as soon as its query loss is
        known, so that only one task's graph (its inner loop) is alive at a time, as in a per-task
        backward; the loss returned carries the summed meta-gradient (its value is the meta-objective, its
        gradient the meta-gradient)."""
        if self.uses_vmap(batch.support_x.device):
            losses, scores = self.batched_query_losses(batch)
            return losses.mean(), _accuracy(scores, batch.query_y)
        tasks = len(batch.support_y)
        meta_parameters = [weight for weight in self.parameters() if weight.requires_grad]
        meta_gradient = [torch.zeros_like(weight) for weight in meta_parameters]
        losses, scores = [], []
        for index in range(tasks):
            loss, task_scores = self.episode(batch.select(index))
            if loss.requires_grad:
                for total, gradient in zip(
                    meta_gradient, torch.autograd.grad(loss / tasks, meta_parameters, allow_unused=True)
                ):
                    if gradient is not None:
                        total += gradient
            losses.append(loss.detach())
            scores.append(task_scores.detach())
        carrier = sum((weight * gradient).sum() for weight, gradient in zip(meta_parameters, meta_gradient))
        return torch.stack(losses).mean() + (carrier - carrier.detach()), _accuracy(torch.stack(scores), batch.query_y)

    def batched_query_losses(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Every task of a meta-batch at once with vmap: [tasks] query losses and [tasks, queries, ways] scores.

        Inside vmap each task has its own copy of the buffers (batch norm's running statistics), and the
        network's running statistics become their mean over the tasks afterwards."""
        self._check_task(batch.support_x[0], batch.support_y.flatten())
        tasks = len(batch.support_y)
        buffers = {
            name: buffer.unsqueeze(0).repeat(tasks, *[1] * buffer.dim())
            for name, buffer in self._buffers_for_call().items()
        }  # [tasks, ...] each
        alphas, steps = self.step_sizes(), self.steps()
        first_order, loss_of = self.first_order or not self.training, self.loss

        def support_loss(parameters, task_buffers, support_x, support_y):
            return loss_of(self.forward_with(parameters, support_x, task_buffers), support_y)

        def one_task(parameters, task_buffers, support_x, support_y, query_x, query_y):
            for _ in range(steps):
                gradients = grad(support_loss)(parameters, task_buffers, support_x, support_y)
                if first_order:
                    gradients = {name: gradient.detach() for name, gradient in gradients.items()}
                parameters = {name: weight - alphas[name] * gradients[name] for name, weight in parameters.items()}
            scores = self.forward_with(parameters, query_x, task_buffers)
            return loss_of(scores, query_y), scores

        losses, scores = vmap(one_task, in_dims=(None, 0, 0, 0, 0, 0))(
            self.fast_parameters(), buffers, batch.support_x, batch.support_y, batch.query_x, batch.query_y
        )
        if self.training:
            with torch.no_grad():
                for name, buffer in self.network.named_buffers():
                    buffer.copy_(buffers[name].float().mean(0).to(buffer.dtype))
        return losses, scores


class FirstOrderMAML(MAML):
    """MAML without the second-order terms of the meta-gradient (Finn et al. 2017, section 5.2)."""

    method = "fomaml"
    first_order_default = True


class MetaSGD(MAML):
    """Meta-SGD (Li et al. 2017): theta' = theta - alpha (*) grad L_S, with alpha meta-learned per weight.

    alpha starts at inner_lr everywhere and is trained by the meta-gradient with theta; a step size may
    turn negative, which the paper allows (the update direction is learned too)."""

    method = "metasgd"

    def __init__(
        self,
        embedding: nn.Module,
        features: int,
        ways: int = 5,
        inner_steps: int = 1,
        inner_lr: float = 0.4,
        test_inner_steps: int | None = None,
        first_order: bool | None = None,
        transductive: bool = True,
        task_batching: str = "auto",
    ):
        super().__init__(
            embedding, features, ways, inner_steps, inner_lr, test_inner_steps, first_order, transductive, task_batching
        )
        self.alpha = nn.ParameterList(
            [nn.Parameter(torch.full_like(weight, self.inner_lr)) for weight in self.network.parameters()]
        )

    def step_sizes(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.fast_parameters(), self.alpha))


class ANIL(MAML):
    """ANIL (Raghu et al. 2020): the inner loop adapts the head only; the body is meta-learned by the outer
    loop alone, and its features of the support set are computed once per task."""

    method = "anil"

    def fast_parameters(self) -> dict[str, torch.Tensor]:
        return {name: weight for name, weight in self.network.named_parameters() if name.startswith("head.")}

    def support_scores(self, support_x: torch.Tensor):
        buffers = {
            name.removeprefix("body."): buffer
            for name, buffer in self._buffers_for_call().items()
            if name.startswith("body.")
        }
        with self._batch_norm_mode():
            features = functional_call(self.network.body, buffers, (support_x,), strict=False)  # [support, features]

        def scores(parameters: dict) -> torch.Tensor:
            head = {name.removeprefix("head."): weight for name, weight in parameters.items()}
            return functional_call(self.network.head, head, (features,))  # [support, ways]

        return scores


class Reptile(MAML):
    """Reptile (Nichol et al. 2018, Algorithm 2, batched version).

    For each task of the meta-batch: `inner_steps` steps of plain SGD (step size inner_lr) on the task's
    examples, support and query together, give theta~_i; the meta-update moves theta towards their mean,
    theta <- theta + epsilon * (mean_i theta~_i - theta). The engine's optimiser takes that step: the
    training loss is 1/2 ||theta - mean_i theta~_i||^2, whose gradient is theta - mean_i theta~_i, so its
    learning rate plays epsilon (Adam, as in the paper's own code, normalises the step per weight). No
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
                scores.append(self.forward_with(adapted, task.query_x))
        loss = sum(0.5 * ((weight - targets[name]) ** 2).sum() for name, weight in meta_parameters.items())
        return loss, _accuracy(torch.stack(scores), batch.query_y)


def _accuracy(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """Query accuracy over a meta-batch ([tasks, queries, ways] scores), nan for regression."""
    if targets.is_floating_point():
        return float("nan")
    return (scores.argmax(-1) == targets).float().mean().item()

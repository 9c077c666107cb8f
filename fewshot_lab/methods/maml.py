"""MAML (Finn, Abbeel & Levine 2017) and its family: learned initialisation, section 7.8, on any nn.Module.

MAML meta-learns the initial weights theta of a network f so that a few
gradient steps on a new task's support set S_i give good weights for that task (Algorithm 2):

    theta'_i = theta - alpha * grad_theta L_{S_i}(f_theta)          (inner loop, eq. 1; `inner_steps` times)
    min_theta  sum_{T_i ~ p(T)} L_{Q_i}(f_{theta'_i})               (the meta-objective, on the query sets Q_i)
    theta <- theta - beta * grad_theta sum_i L_{Q_i}(f_{theta'_i})  (outer loop, eq. 3: Adam in the engine)

The meta-gradient goes through the inner loop, so it contains second derivatives (Hessian-vector
products). First-order MAML (Finn et al. 2017, section 5.2) drops them, treating grad L_S as a constant, so that
grad_theta L_Q(theta') becomes grad_{theta'} L_Q(theta'). The rest of the family has files of its own:
fewshot_lab.methods.metasgd, .anil and .reptile.

No special "meta" layers and no module cloning: the network is an ordinary nn.Module (Sequential(body,
head) here), run on other weights with torch.func.functional_call (fewshot_lab.functional holds that
plumbing). Tasks of a meta-batch are either looped over (autograd.grad per task) or batched with
torch.func.vmap over torch.func.grad; `task_batching` chooses (see MAML).

Batch norm. The papers' choice, and the default here (transductive=True): batch norm always normalises
with the statistics of the batch it is given, the support set during the inner loop and the whole query
set for predictions, at meta-training and at meta-test time. Predictions for one query then depend on the
other queries of the task (transduction), which inflates accuracy a little (../shared/docs/REFERENCES.md).
With transductive=False the query set is normalised with running statistics gathered in meta-training,
so each query is classified on its own.

Precision. Where meta-training runs the network in bfloat16 (precision="bf16"), the inner loop still computes in
float32 and only the query pass at theta'_i is lowered: that is where the arithmetic is (a 5-way 1-shot task has 5
support images and 75 queries), while the inner loop's rounding errors compound from step to step and move theta'_i.
Measured on 16 glyphs tasks after 5 inner steps, the cosine between the meta-gradient in bfloat16 and in float32 is
0.9998 or more with the inner loop in float32, and 0.5 to 0.6 with it in bfloat16 too (results/maml_vs_higher.md).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import grad

from fewshot_lab.backbones import backbones_of, compute_precision
from fewshot_lab.evaluation import accuracy
from fewshot_lab.functional import FunctionalNetwork, has_batch_norm, has_convolutions, mean_loss_task_by_task
from fewshot_lab.learner import Learner, task_loss

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
    sized_by_ways = True
    takes_test_inner_steps = True
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
        self.functional = FunctionalNetwork(self.network, transductive)  # f run on other weights
        self.features, self.ways = features, ways
        self.inner_steps, self.inner_lr, self.test_inner_steps = inner_steps, float(inner_lr), test_inner_steps
        self.first_order = self.first_order_default if first_order is None else bool(first_order)
        self.transductive, self.task_batching = bool(transductive), task_batching
        if task_batching == "vmap" and self.second_order_through_batch_norm():
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
            loss = task_loss(support_scores(parameters), support_y)
            gradients = torch.autograd.grad(loss, list(parameters.values()), create_graph=create_graph)
            parameters = {
                name: weight - alphas[name] * gradient
                for (name, weight), gradient in zip(parameters.items(), gradients)
            }
        return parameters

    def support_scores(self, support_x: torch.Tensor):
        """parameters -> f(support_x) on those weights: what the inner loop differentiates."""
        return lambda parameters: self.functional(parameters, support_x)

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
        # the inner loop differentiates, even where the caller turned autograd off, and in float32 (see Precision above)
        with torch.enable_grad(), compute_precision(self.network, "fp32"):
            parameters = self.inner_loop(support_x, support_y, steps)
        if not self.training:
            parameters = {name: weight.detach() for name, weight in parameters.items()}

        def scores(query_x: torch.Tensor) -> torch.Tensor:
            return self.functional(parameters, query_x)  # [queries, ways]

        return scores

    # ---- the outer loop: one meta-batch ------------------------------------------------------------------

    def second_order_through_batch_norm(self) -> bool:
        return not self.first_order and has_batch_norm(self.network)

    def lowered_convolutions(self) -> bool:
        """Convolutions meant to run in a lower precision, which torch.autocast leaves in float32 inside
        torch.func.vmap: there the tasks are looped over."""
        return has_convolutions(self.network) and any(backbone.compute_dtype for backbone in backbones_of(self))

    def uses_vmap(self, device: torch.device) -> bool:
        if self.task_batching != "auto":
            return self.task_batching == "vmap"
        if self.second_order_through_batch_norm() or self.lowered_convolutions():
            return False
        return device.type == "cuda" or not has_convolutions(self.network)

    def check_precision(self, precision: str) -> None:
        super().check_precision(precision)
        if self.task_batching == "vmap" and has_convolutions(self.network):
            raise ValueError(
                f"precision={precision!r} cannot reach the convolutions of task_batching='vmap' (torch.autocast leaves "
                f"them in float32 inside torch.func.vmap): build the learner with task_batching='loop' or 'auto'"
            )

    def training_loss(self, batch) -> tuple[torch.Tensor, float]:
        """The meta-objective (Algorithm 2): for each task of the meta-batch, the inner loop on its support set, then
        the query loss at theta'_i; their mean over the tasks, whose gradient the engine's outer step takes."""
        if self.uses_vmap(batch.support_x.device):
            losses, scores = self.batched_query_losses(batch)
            return losses.mean(), accuracy(scores, batch.query_y)
        meta_parameters = [weight for weight in self.parameters() if weight.requires_grad]
        loss, scores = mean_loss_task_by_task(self.query_loss, batch, meta_parameters)
        return loss, accuracy(scores, batch.query_y)

    def batched_query_losses(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Every task of a meta-batch at once with vmap: [tasks] query losses and [tasks, queries, ways] scores."""
        self._check_task(batch.support_x[0], batch.support_y.flatten())
        alphas, steps = self.step_sizes(), self.steps()
        first_order, network = self.first_order or not self.training, self.functional

        def support_loss(parameters, task_buffers, support_x, support_y):
            return task_loss(network(parameters, support_x, task_buffers), support_y)

        def one_task(parameters, task_buffers, support_x, support_y, query_x, query_y):
            with compute_precision(self.network, "fp32"):  # the inner loop in float32 (see Precision above)
                for _ in range(steps):
                    gradients = grad(support_loss)(parameters, task_buffers, support_x, support_y)
                    if first_order:
                        gradients = {name: gradient.detach() for name, gradient in gradients.items()}
                    parameters = {name: weight - alphas[name] * gradients[name] for name, weight in parameters.items()}
            scores = network(parameters, query_x, task_buffers)
            return task_loss(scores, query_y), scores

        return self.functional.vmap_over_tasks(one_task, self.fast_parameters(), batch)


class FirstOrderMAML(MAML):
    """MAML without the second-order terms of the meta-gradient (Finn et al. 2017, section 5.2)."""

    method = "fomaml"
    first_order_default = True

"""Meta-LSTM: optimization as a model for few-shot learning (Ravi & Larochelle 2017), section 7.7.

Gradient descent theta_t = theta_{t-1} - alpha_t grad_t looks like the cell-state update of an LSTM,
c_t = f_t * c_{t-1} + i_t * c~_t, with c_t = theta_t and c~_t = -grad_t. Meta-LSTM makes that literal: the
cell state IS the classifier's parameter vector, and its gates are learned per coordinate and per step:

    theta_t = f_t * theta_{t-1} - i_t * grad_t                       (eq. 2, c_t = theta_t, c~_t = -grad_t)
    i_t = sigmoid(W_I [h_t, theta_{t-1}, i_{t-1}] + b_I)             (the learning rate of step t)
    f_t = sigmoid(W_F [h_t, theta_{t-1}, f_{t-1}] + b_F)             (a shrinkage: weight decay 1 - f_t)
    h_t = LSTM([pre(grad_t), pre(L_t)], h_{t-1})                     (a first, ordinary LSTM layer of 20 units)

with pre() the gradient preprocessing of Andrychowicz et al. 2016 (fewshot_lab.learned_optimizer.preprocess),
grad_t and L_t the gradient and loss of the support set at theta_{t-1}, all weights shared by every
coordinate. The initial cell state theta_0 (the classifier's own weights) is learned too. With i_t fixed to a
constant alpha and f_t to 1 the update is exactly SGD with learning rate alpha (adapted_weights(fixed_gates=)).

Training (Algorithm 1): on each task, T = inner_steps updates on the support set from theta_0, then the
query loss at theta_T is back-propagated into the gates, the first LSTM layer and theta_0. As in the paper,
grad_t and L_t enter the gates as constants (no second derivatives).

The classifier is any nn.Module embedding plus a linear head, run on the weights theta_t with
torch.func.functional_call. The head has max_ways rows; a task of N ways uses the first N.
Batch norm: transductive. The embedding's batch-norm layers keep no running statistics
(track_running_stats=False), so they always normalise with the statistics of the batch they see: the support
set during adaptation and the query set when it is scored, in training and in evaluation alike (as Ravi &
Larochelle and MAML do). A query's score therefore depends on the other queries of its batch.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from fewshot_lab.checks import check_positive_int
from fewshot_lab.learned_optimizer import preprocess
from fewshot_lab.learner import Learner


class MetaLSTM(Learner):
    """The classifier (embedding + head) and the meta-learner LSTM that adapts its weights to a task.

    embedding: [batch, C, H, W] -> [batch, features]; its batch norm is made transductive (see above).
    features: the size of the embedding's output (build_learner measures it).
    max_ways: rows of the head; tasks may have up to max_ways ways.
    inner_steps: T, updates on the support set per task (each on the whole support set).
    hidden: units of the first LSTM layer.
    """

    method = "metalstm"
    adapts_with_gradients = True

    def __init__(self, embedding: nn.Module, features: int, max_ways: int = 20, inner_steps: int = 5, hidden: int = 20):
        super().__init__()
        if not isinstance(embedding, nn.Module):
            raise TypeError(f"embedding must be a torch.nn.Module, got {type(embedding).__name__}")
        for name, value in (("features", features), ("max_ways", max_ways), ("hidden", hidden)):
            check_positive_int(name, value)
        if not isinstance(inner_steps, int) or inner_steps < 0:
            raise ValueError(f"inner_steps must be 0 or more, got {inner_steps!r}")
        for module in embedding.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.track_running_stats = False
                module.running_mean = module.running_var = module.num_batches_tracked = None
        self.classifier = nn.Sequential()
        self.classifier.add_module("embedding", embedding)
        self.classifier.add_module("head", nn.Linear(features, max_ways))
        self.max_ways, self.inner_steps = max_ways, inner_steps
        self.gradient_lstm = nn.LSTMCell(4, hidden)  # reads (pre(grad_t), pre(L_t)) of each coordinate
        self.input_gate = nn.Linear(hidden + 2, 1)  # W_I, b_I on [h_t, theta_{t-1}, i_{t-1}]
        self.forget_gate = nn.Linear(hidden + 2, 1)  # W_F, b_F on [h_t, theta_{t-1}, f_{t-1}]
        for gate, (low, high) in ((self.input_gate, (-5.0, -4.0)), (self.forget_gate, (4.0, 6.0))):
            nn.init.uniform_(gate.weight, -0.01, 0.01)
            nn.init.uniform_(gate.bias, low, high)  # the paper's start: i_t about 0.01, f_t about 0.99

    def initial_weights(self, ways: int) -> dict[str, torch.Tensor]:
        """theta_0: the classifier's weights, the head cut to its first `ways` rows."""
        if ways > self.max_ways:
            raise ValueError(
                f"the task has {ways} ways but this Meta-LSTM's head has {self.max_ways} rows; "
                f"build it with max_ways={ways} or more"
            )
        weights = dict(self.classifier.named_parameters())
        weights["head.weight"], weights["head.bias"] = weights["head.weight"][:ways], weights["head.bias"][:ways]
        return weights

    def adapted_weights(
        self, support_x: torch.Tensor, support_y: torch.Tensor, fixed_gates: tuple[float, float] | None = None
    ):
        """theta_T after inner_steps updates on the support set, as the classifier's named weights, and the gates
        of every step: {"input": [steps, coordinates], "forget": [steps, coordinates]} (detached).

        fixed_gates: (i, f) constants in place of the learned gates: (alpha, 1.0) is SGD with learning rate alpha.
        """
        initial = self.initial_weights(int(support_y.max()) + 1)
        shapes = {name: weight.shape for name, weight in initial.items()}
        theta = torch.cat([weight.flatten() for weight in initial.values()])  # [coordinates], the cell state c_0

        def as_weights(flat: torch.Tensor) -> dict[str, torch.Tensor]:
            chunks = flat.split([shape.numel() for shape in shapes.values()])
            return {name: chunk.view(shape) for (name, shape), chunk in zip(shapes.items(), chunks)}

        state = None  # the first LSTM layer's (h, c), zeros at the start of every task
        input_gate = torch.zeros_like(theta)  # i_0
        forget_gate = torch.ones_like(theta)  # f_0
        trace = {"input": [], "forget": []}
        with torch.enable_grad():  # adaptation needs the support gradient even where the caller turned autograd off
            if not theta.requires_grad:
                theta = theta.detach().requires_grad_()
            for _ in range(self.inner_steps):
                scores = functional_call(self.classifier, as_weights(theta), (support_x,))  # [ways * shots, ways]
                loss = nn.functional.cross_entropy(scores, support_y)
                # grad_t and L_t are inputs of the gates, constants for the meta-gradient (the paper's approximation)
                (gradient,) = torch.autograd.grad(loss, theta)  # [coordinates]
                if fixed_gates is None:
                    inputs = torch.cat([preprocess(gradient), preprocess(loss.detach()).expand(len(theta), 2)], 1)
                    state = self.gradient_lstm(inputs, state)  # (h_t, c_t), [coordinates, hidden] each
                    previous = theta[:, None]  # [coordinates, 1]
                    input_gate = torch.sigmoid(
                        self.input_gate(torch.cat([state[0], previous, input_gate[:, None]], 1))
                    ).squeeze(1)
                    forget_gate = torch.sigmoid(
                        self.forget_gate(torch.cat([state[0], previous, forget_gate[:, None]], 1))
                    ).squeeze(1)
                else:
                    input_gate, forget_gate = (torch.full_like(theta, value) for value in fixed_gates)
                theta = forget_gate * theta - input_gate * gradient  # eq. 2: c_t = f_t * c_{t-1} + i_t * (-grad_t)
                trace["input"].append(input_gate.detach())
                trace["forget"].append(forget_gate.detach())
        empty = theta.new_zeros(0, len(theta))
        return as_weights(theta), {gate: torch.stack(values) if values else empty for gate, values in trace.items()}

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        weights, _ = self.adapted_weights(support_x, support_y)

        def scores(query_x: torch.Tensor) -> torch.Tensor:
            return functional_call(self.classifier, weights, (query_x,))  # [queries, ways]

        return scores

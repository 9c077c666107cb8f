"""Learning to learn by gradient descent by gradient descent (Andrychowicz et al. 2016), section 7.7.

An optimiser is a function from gradients to updates. SGD, momentum, RMSprop and Adam are hand-written
ones; here it is a small LSTM m with weights phi, learned on a family of problems (optimizees) f:

    theta_{t+1} = theta_t + g_t,    [g_t, h_{t+1}] = m(grad_t, h_t, phi),   grad_t = grad f(theta_t)   (eq. 1)
    L(phi) = E_f [ sum_{t=1..T} w_t f(theta_t) ],   w_t = 1                                         (eq. 3)

m is coordinatewise: one 2-layer LSTM of 20 units, the same weights for every coordinate of theta, each
coordinate with its own hidden state, so one m optimises problems of any size. Its input is the gradient
preprocessed as in the paper's appendix A (gradients span many orders of magnitude):

    grad -> (log|grad| / p, sign grad)   if |grad| >= e^-p
            (-1, e^p grad)               otherwise,            p = 10

L(phi) is minimised by Adam with truncated backpropagation through the unrolled optimisation: a run of
`horizon` steps is cut into pieces of `unroll` steps; phi takes one step after each piece, and theta and
the LSTM state carry over to the next piece without their history. As in the paper, grad_t enters m as a
constant (d grad_t / d phi = 0, no second derivatives); phi still receives the gradient of every later
f(theta_s) through the updates g_t.

    optimizer = LSTMOptimizer()
    train_optimizer(optimizer, lambda seed: Quadratics(seed=seed), optimizees=300)
    curves = run_optimizer(optimizer, Quadratics(seed=HELD_OUT_SEED), steps=100)   # [101, instances]
    curves = run_optimizer(Baseline("Adam", lr=0.1), Quadratics(seed=HELD_OUT_SEED), steps=100)

Optimizees: Quadratics, random f(theta) = ||W theta - y||^2 in 10 dimensions (batched: every instance is
more coordinates for m), and CharacterMLP, the paper's MNIST network (one hidden layer of 20 sigmoid units,
minibatches of 128) on flattened 28x28 glyphs characters instead of MNIST, which is not available offline:
each optimizee is a 10-way classification of characters drawn from one meta-split of glyphs, so the
held-out problems are characters of alphabets the optimizer never saw.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from tqdm.auto import tqdm

HELD_OUT_SEED = 10**6  # seeds of held-out optimizees start here; training optimizees use seeds below it
LEARNING_RATES = tuple(float(10 ** (exponent / 4)) for exponent in range(-16, 5))  # 1e-4 ... 10, 4 per decade


def preprocess(gradient: torch.Tensor, p: float = 10.0) -> torch.Tensor:
    """The paper's gradient preprocessing: [...] -> [..., 2], (log|g|/p, sign g) if |g| >= e^-p, else (-1, e^p g)."""
    magnitude = gradient.abs()
    large = magnitude >= math.exp(-p)
    scale = torch.where(large, magnitude.clamp_min(math.exp(-p)).log() / p, torch.full_like(gradient, -1.0))
    direction = torch.where(large, gradient.sign(), math.exp(p) * gradient)
    return torch.stack([scale, direction], dim=-1)


class LSTMOptimizer(nn.Module):
    """m(grad_t, h_t, phi) -> (g_t, h_{t+1}): a coordinatewise LSTM shared by all coordinates.

    hidden, layers: the paper's 20 units in 2 layers. output_scale: the LSTM's output times 0.1 is the
    update (as in the paper's code), so an untrained optimizer takes small steps. p: of the preprocessing.
    The optimizer keeps no state itself: each run starts from initial_state (zeros), so nothing carries
    over from one optimizee to the next.
    """

    def __init__(self, hidden: int = 20, layers: int = 2, output_scale: float = 0.1, p: float = 10.0):
        super().__init__()
        self.cells = nn.ModuleList(nn.LSTMCell(2 if layer == 0 else hidden, hidden) for layer in range(layers))
        self.output = nn.Linear(hidden, 1)
        self.output_scale, self.p = output_scale, p

    def initial_state(self, coordinates: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(h, c) of every layer, zeros [coordinates, hidden]: the state at the start of every run."""
        device = self.output.weight.device
        return [(torch.zeros(coordinates, cell.hidden_size, device=device),) * 2 for cell in self.cells]

    def forward(self, gradient: torch.Tensor, state):
        """gradient [coordinates] -> (update g_t [coordinates], next state)."""
        inputs = preprocess(gradient, self.p)  # [coordinates, 2]
        next_state = []
        for cell, (h, c) in zip(self.cells, state):
            h, c = cell(inputs, (h, c))  # [coordinates, hidden] each
            next_state.append((h, c))
            inputs = h
        return self.output_scale * self.output(inputs).squeeze(-1), next_state


class Quadratics:
    """`instances` random quadratics f(theta) = ||W theta - y||^2 in `dims` dimensions, as in the paper (and
    its code): W, y ~ N(0, 1), theta_0 ~ N(0, 0.01^2). The same seed gives the same instances."""

    def __init__(self, instances: int = 128, dims: int = 10, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        self.W = torch.randn(instances, dims, dims, generator=generator)  # [instances, dims, dims]
        self.y = torch.randn(instances, dims, generator=generator)  # [instances, dims]
        self.start = 0.01 * torch.randn(instances, dims, generator=generator)  # [instances, dims]

    @property
    def instances(self) -> int:
        return len(self.y)

    def initial_parameters(self) -> torch.Tensor:
        return self.start.clone()  # [instances, dims]

    def loss(self, parameters: torch.Tensor, step: int) -> torch.Tensor:
        """f(theta) of every instance [instances] (the same at every step)."""
        residual = torch.einsum("nij,nj->ni", self.W, parameters) - self.y  # [instances, dims]
        return (residual**2).sum(-1)


class CharacterMLP:
    """Classify `classes` characters of one meta-split of `dataset` with an MLP on the flattened images:
    the paper's MNIST optimizee (hidden=(20,), sigmoid, minibatches of 128) on glyphs, as one instance.

    hidden: the widths of the hidden layers, (40,) or (20, 20) for the paper's generalisation tests.
    activation: "sigmoid" (trained on) or "relu" (the paper's failure case).
    The minibatch of step t depends only on (seed, t), so every optimizer sees the same minibatches.
    The weights theta_0 are the network's default initialisation, seeded by `seed`.
    """

    def __init__(
        self,
        dataset,
        split: str = "train",
        classes: int = 10,
        hidden: tuple[int, ...] = (20,),
        activation: str = "sigmoid",
        batch_size: int = 128,
        seed: int = 0,
    ):
        if activation not in ("sigmoid", "relu"):
            raise ValueError(f"activation must be 'sigmoid' or 'relu', got {activation!r}")
        dataset.check_split(split)
        pool = dataset.splits[split]
        if classes > len(pool):
            raise ValueError(f"asked for {classes} classes but the {split!r} split of {dataset.name} has {len(pool)}")
        rng = np.random.default_rng(seed)
        chosen = rng.choice(pool, size=classes, replace=False)
        indices = [dataset.image_indices(int(c)) for c in chosen]
        self.images = dataset.as_float(torch.cat(indices)).flatten(1)  # [images, 784]
        self.labels = torch.arange(classes).repeat_interleave(torch.tensor([len(i) for i in indices]))  # [images]
        widths = [self.images.shape[1], *hidden]
        layers = []
        with torch.random.fork_rng():  # seeded initialisation that leaves the global random state alone
            torch.manual_seed(seed)
            for width_in, width_out in itertools.pairwise(widths):
                layers += [nn.Linear(width_in, width_out), nn.Sigmoid() if activation == "sigmoid" else nn.ReLU()]
            self.network = nn.Sequential(*layers, nn.Linear(widths[-1], classes))
        self.shapes = {name: weight.shape for name, weight in self.network.named_parameters()}
        self.start = torch.cat([weight.detach().flatten() for weight in self.network.parameters()])[None]  # [1, P]
        self.batch_size, self.seed = batch_size, seed

    instances = 1

    def initial_parameters(self) -> torch.Tensor:
        return self.start.clone()  # [1, parameters]

    def weights(self, parameters: torch.Tensor) -> dict[str, torch.Tensor]:
        """The flat vector [1, P] as the network's named weights."""
        sizes = [shape.numel() for shape in self.shapes.values()]
        return {
            name: chunk.view(shape) for (name, shape), chunk in zip(self.shapes.items(), parameters[0].split(sizes))
        }

    def loss(self, parameters: torch.Tensor, step: int) -> torch.Tensor:
        """The cross-entropy of the minibatch of `step` [1]."""
        generator = torch.Generator().manual_seed(self.seed * 100_003 + step)
        batch = torch.randint(len(self.labels), (self.batch_size,), generator=generator)  # [batch_size]
        scores = functional_call(self.network, self.weights(parameters), (self.images[batch],))  # [batch, classes]
        return nn.functional.cross_entropy(scores, self.labels[batch])[None]


@dataclass
class Baseline:
    """A hand-written optimiser with a fixed learning rate: Baseline("Adam", lr=0.1)(parameters) is the torch.optim
    optimiser. One of BASELINES: SGD, momentum (SGD with momentum 0.9), RMSprop, Adam."""

    name: str
    lr: float

    def __post_init__(self):
        if self.name not in BASELINES:
            raise ValueError(f"unknown baseline {self.name!r}: choose one of {', '.join(BASELINES)}")

    def __call__(self, parameters) -> torch.optim.Optimizer:
        return BASELINES[self.name](parameters, lr=self.lr)


BASELINES = {
    "SGD": torch.optim.SGD,
    "momentum": lambda parameters, lr: torch.optim.SGD(parameters, lr=lr, momentum=0.9),
    "RMSprop": torch.optim.RMSprop,
    "Adam": torch.optim.Adam,
}


def _detach(state):
    return [(h.detach(), c.detach()) for h, c in state]


def unroll(optimizer: LSTMOptimizer, optimizee, parameters: torch.Tensor, state, first_step: int, steps: int):
    """`steps` steps of the learned optimizer from theta_{first_step} = parameters.

    Returns the losses f(theta_{first_step+1}) ... f(theta_{first_step+steps}) [steps, instances], which are
    differentiable w.r.t. phi (and w.r.t. `parameters` where it requires grad), the last theta and LSTM state.
    """
    losses = []
    loss = optimizee.loss(parameters, first_step)  # [instances]
    for step in range(first_step, first_step + steps):
        # a constant for phi (the paper drops second derivatives); the graph stays for the meta-gradient
        (gradient,) = torch.autograd.grad(loss.sum(), parameters, retain_graph=True)
        update, state = optimizer(gradient.flatten(), state)  # [coordinates]
        parameters = parameters + update.view_as(parameters)
        loss = optimizee.loss(parameters, step + 1)
        losses.append(loss)
    return torch.stack(losses), parameters, state


def train_optimizer(
    optimizer: LSTMOptimizer,
    make_optimizee,
    optimizees: int = 300,
    horizon: int = 100,
    unroll_steps: int = 20,
    lr: float = 1e-3,
    first_seed: int = 0,
    progress: bool = False,
) -> list[float]:
    """Meta-train `optimizer` on the optimizees make_optimizee(seed) for seeds first_seed, first_seed + 1, ...:
    each is optimised for `horizon` steps, cut into truncations of `unroll_steps`, and Adam (lr) takes one
    step on phi after each truncation, on the mean loss over its steps and instances.

    Returns the meta-loss of every truncation. Seeds must stay below HELD_OUT_SEED.
    """
    if first_seed + optimizees > HELD_OUT_SEED:
        raise ValueError(
            f"training seeds must stay below HELD_OUT_SEED ({HELD_OUT_SEED}), which held-out optimizees use"
        )
    if horizon % unroll_steps:
        raise ValueError(f"horizon ({horizon}) must be a multiple of unroll_steps ({unroll_steps})")
    meta_optimizer = torch.optim.Adam(optimizer.parameters(), lr=lr)
    meta_losses = []
    for seed in tqdm(range(first_seed, first_seed + optimizees), disable=not progress, desc="meta-training"):
        optimizee = make_optimizee(seed)
        parameters = optimizee.initial_parameters()
        state = optimizer.initial_state(parameters.numel())
        for first_step in range(0, horizon, unroll_steps):
            # truncation: theta and the LSTM state carry over, their history does not
            parameters = parameters.detach().requires_grad_()
            losses, parameters, state = unroll(
                optimizer, optimizee, parameters, _detach(state), first_step, unroll_steps
            )
            meta_loss = losses.mean()
            meta_optimizer.zero_grad()
            meta_loss.backward()
            meta_optimizer.step()
            meta_losses.append(meta_loss.item())
    return meta_losses


def run_optimizer(optimizer, optimizee, steps: int = 100) -> torch.Tensor:
    """The loss curves f(theta_0) ... f(theta_steps) [steps + 1, instances] of `optimizer` on `optimizee`: an
    LSTMOptimizer (started from a fresh state) or a Baseline. Nothing is learned."""
    parameters = optimizee.initial_parameters().requires_grad_()
    curve = [optimizee.loss(parameters, 0).detach()]
    if isinstance(optimizer, LSTMOptimizer):
        state = optimizer.initial_state(parameters.numel())
        for step in range(steps):
            losses, parameters, state = unroll(optimizer, optimizee, parameters, state, step, 1)
            parameters, state = parameters.detach().requires_grad_(), _detach(state)
            curve.append(losses[0].detach())
    else:
        rule = optimizer([parameters])
        for step in range(steps):
            rule.zero_grad()
            optimizee.loss(parameters, step).sum().backward()
            rule.step()
            curve.append(optimizee.loss(parameters, step + 1).detach())
    return torch.stack(curve)


def tune_learning_rate(
    name: str, make_optimizee, steps: int = 100, seeds=range(3), learning_rates=LEARNING_RATES
) -> tuple[float, dict[float, float]]:
    """The learning rate of baseline `name` with the lowest mean loss over `steps` steps (the learned optimizer's
    meta-objective), on the training optimizees make_optimizee(seed) for `seeds` (never held-out ones).

    Returns (best learning rate, {learning rate: mean loss}); a run that diverges scores infinity.
    """
    if any(seed >= HELD_OUT_SEED for seed in seeds):
        raise ValueError(f"tune on training optimizees only: seeds below HELD_OUT_SEED ({HELD_OUT_SEED})")
    scores = {}
    for lr in learning_rates:
        curves = torch.cat([run_optimizer(Baseline(name, lr), make_optimizee(seed), steps)[1:] for seed in seeds], 1)
        score = curves.mean().item()
        scores[lr] = score if math.isfinite(score) else math.inf
    return min(scores, key=scores.get), scores

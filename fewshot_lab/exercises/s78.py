"""Exercises of notebook 7.8 (learned initialisation): one MAML inner step that keeps the meta-gradient's
second-order term, the first-order MAML meta-gradient, and the Reptile update.

Every exercise works on a linear regression y = W x + b run with torch.func.functional_call on weights given
as a dict {name: tensor}, the way fewshot_lab.methods.maml runs any network on its adapted weights.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad

from fewshot_lab.exercises import Mistake, call, checker, expect, require

INNER_LR = 0.1


def regression_task(seed: int = 0):
    """(meta-parameters theta {name: tensor} requiring grad, support_loss, query_loss) of one linear task."""
    generator = torch.Generator().manual_seed(seed)
    model = nn.Linear(3, 1)
    theta = {
        "weight": torch.randn(1, 3, generator=generator).requires_grad_(),
        "bias": torch.randn(1, generator=generator).requires_grad_(),
    }
    true_weight = torch.randn(3, 1, generator=generator)
    support_x, query_x = torch.randn(5, 3, generator=generator), torch.randn(10, 3, generator=generator)

    def loss_on(x):
        return lambda parameters: nn.functional.mse_loss(functional_call(model, parameters, (x,)), x @ true_weight)

    return theta, loss_on(support_x), loss_on(query_x)


def flat(parameters, what: str, like: dict) -> torch.Tensor:
    """A {name: tensor} answer as one vector in the order of `like`'s names, or a Mistake saying what differs."""
    require(isinstance(parameters, dict), f"{what} should be a dict {{name: tensor}}, got {type(parameters).__name__}")
    require(
        set(parameters) == set(like),
        f"{what} should have the names {sorted(like)}; yours has {sorted(parameters)}: keep one entry per parameter",
    )
    for name, value in like.items():
        require(
            isinstance(parameters[name], torch.Tensor),
            f"{what}[{name!r}] should be a tensor, got {type(parameters[name]).__name__}",
        )
        require(
            parameters[name].shape == value.shape,
            f"the shape of {what}[{name!r}] is "
            f"{list(parameters[name].shape)}; expected {list(value.shape)}, the parameter's own shape",
        )
    return torch.cat([parameters[name].flatten() for name in like])


def expect_parameters(answer, expected: dict, what: str, mistakes: dict | None = None):
    """expect() for dicts of tensors {name: tensor}, compared name by name as one vector."""
    expect(
        flat(answer, what, expected),
        flat(expected, what, expected),
        what,
        mistakes={hint: flat(wrong, what, expected) for hint, wrong in (mistakes or {}).items()},
    )


def step(theta: dict, gradients: dict, rate: float) -> dict:
    return {name: theta[name] - rate * gradients[name] for name in theta}


@checker
def check_inner_step(inner_step):
    """inner_step(support_loss, theta, inner_lr) -> theta' = theta - inner_lr * grad L_S(theta), as a dict, kept
    differentiable with respect to theta so that the meta-gradient has its second-order term."""
    theta, support_loss, query_loss = regression_task()
    gradients = grad(support_loss)(theta)  # differentiable in theta: torch.func composes with autograd
    adapted = step(theta, gradients, INNER_LR)
    answer = call(inner_step, support_loss, theta, INNER_LR)
    expect_parameters(
        answer,
        adapted,
        "the adapted weights theta'",
        mistakes={
            "these are the gradients, not the adapted weights: theta' = theta - inner_lr * gradient": gradients,
            "theta + inner_lr * gradient climbs the support loss; the inner step descends it": step(
                theta, gradients, -INNER_LR
            ),
        },
    )
    names = list(theta)
    if not all(answer[name].requires_grad for name in names):
        raise Mistake(
            "theta' is cut off from theta (detached, or computed under torch.no_grad): the meta-gradient "
            "of the query loss cannot reach theta"
        )
    meta_gradient = torch.autograd.grad(query_loss(answer), [theta[name] for name in names], allow_unused=True)
    require(
        all(gradient is not None for gradient in meta_gradient),
        "the query loss at your theta' does not depend on every meta-parameter",
    )
    first_order = step({name: theta[name] for name in names}, {n: g.detach() for n, g in gradients.items()}, INNER_LR)
    second = torch.autograd.grad(query_loss(adapted), [theta[name] for name in names])
    first = torch.autograd.grad(query_loss(first_order), [theta[name] for name in names])
    expect(
        torch.cat([g.flatten() for g in meta_gradient]),
        torch.cat([g.flatten() for g in second]),
        "the meta-gradient through your step",
        mistakes={
            "the inner gradient is a constant in your step (torch.autograd.grad without create_graph=True, "
            "or .detach()): that is first-order MAML; MAML's meta-gradient differentiates through it, "
            "e.g. with torch.func.grad": torch.cat([g.flatten() for g in first])
        },
    )
    return (
        "Right: theta' is a differentiable function of theta, so the query loss's gradient reaches theta through "
        "the inner step, Hessian term included."
    )


@checker
def check_first_order_meta_gradient(first_order_meta_gradient):
    """first_order_meta_gradient(support_loss, query_loss, theta, inner_lr) -> {name: gradient}: the gradient of
    the query loss at theta' = theta - inner_lr * grad L_S(theta), the inner gradient treated as a constant."""
    theta, support_loss, query_loss = regression_task(seed=1)
    gradients = grad(support_loss)(theta)
    adapted = step(theta, gradients, INNER_LR)
    first_order = grad(query_loss)({name: value.detach() for name, value in adapted.items()})
    names = list(theta)
    second_order = dict(zip(names, torch.autograd.grad(query_loss(adapted), [theta[name] for name in names])))
    answer = call(first_order_meta_gradient, support_loss, query_loss, theta, INNER_LR)
    expect_parameters(
        answer,
        first_order,
        "the first-order meta-gradient",
        mistakes={
            "this is the query gradient at theta; first-order MAML takes it at the adapted "
            "theta' = theta - inner_lr * grad L_S(theta)": grad(query_loss)(theta),
            "this is MAML's full meta-gradient, with the second-order term; first-order MAML "
            "treats grad L_S as a constant, so it is grad L_Q at theta'": second_order,
            "this is the support gradient; the meta-gradient is the query loss's gradient": gradients,
        },
    )
    return (
        "Right: the meta-gradient is grad L_Q(theta') applied to theta as it is: no Hessian, one backward pass "
        "and no second pass back through the inner loop, so it costs less."
    )


@checker
def check_reptile_update(reptile_update):
    """reptile_update(theta, adapted, epsilon) -> theta + epsilon * (adapted - theta), as a dict."""
    theta, _, _ = regression_task(seed=2)
    theta = {name: value.detach() for name, value in theta.items()}
    adapted = {name: value + 0.5 for name, value in theta.items()}  # theta~ after k steps of SGD on a task
    epsilon = 0.25
    expect_parameters(
        call(reptile_update, theta, adapted, epsilon),
        {name: theta[name] + epsilon * (adapted[name] - theta[name]) for name in theta},
        "the updated theta",
        mistakes={
            "this moves theta away from the task's weights; Reptile moves towards them, "
            "theta + epsilon * (adapted - theta)": {
                name: theta[name] - epsilon * (adapted[name] - theta[name]) for name in theta
            },
            "this jumps all the way to the task's weights (epsilon = 1); move a fraction epsilon of the way": adapted,
            "this is epsilon * (adapted - theta), the step alone; add it to theta": {
                name: epsilon * (adapted[name] - theta[name]) for name in theta
            },
        },
    )
    return "Right: Reptile needs no meta-gradient; theta drifts towards the weights that each task's SGD reaches."

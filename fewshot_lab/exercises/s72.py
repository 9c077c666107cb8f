"""Exercises of notebook 7.2 (method families): the dial of which parameters adapt, Meta-SGD's learned step,
and weighting tasks by their similarity to a new task."""

from __future__ import annotations

import torch

from fewshot_lab.exercises import Mistake, call, checker, expect, require
from fewshot_lab.lessons.s72 import similarity_weights, sinusoid_learner


@checker
def check_head_only(head_only):
    """head_only(named_parameters) -> {name: weight} of the parameters ANIL's inner loop adapts: the head's."""
    torch.manual_seed(0)
    network = sinusoid_learner("maml").network
    named = dict(network.named_parameters())
    answer = call(head_only, dict(named))
    require(isinstance(answer, dict), f"head_only returned a {type(answer).__name__}; return a dict {{name: weight}}")
    names, head = set(answer), {name for name in named if name.startswith("head.")}
    if names == set(named):
        raise Mistake(
            "that is every weight: the MAML end of the dial. ANIL adapts the head only (names starting with 'head.')"
        )
    if names == set(named) - head:
        raise Mistake("that is the body: ANIL keeps the body shared by every task and adapts the head")
    require(names == head, f"expected the names {sorted(head)}, got {sorted(names)}")
    for name in head:
        require(
            answer[name] is named[name],
            f"{name} is not the network's own tensor (a copy or a detached one): "
            "the inner loop must start from the meta-parameters themselves, so "
            "that the meta-gradient reaches them",
        )
    return (
        "Right: ANIL adapts 41 of 1761 weights here; the other 1720 are shared by every task and learned by "
        "the outer loop alone."
    )


@checker
def check_meta_sgd_step(meta_sgd_step):
    """meta_sgd_step(weights, gradients, alphas) -> {name: theta'}, one Meta-SGD inner step, theta - alpha (*) grad."""
    generator = torch.Generator().manual_seed(0)
    shapes = {"body.weight": (3, 2), "head.weight": (1, 3), "head.bias": (1,)}
    weights, gradients, alphas = (
        {name: torch.randn(shape, generator=generator) for name, shape in shapes.items()} for _ in range(3)
    )
    answer = call(meta_sgd_step, weights, gradients, alphas)
    require(
        isinstance(answer, dict) and set(answer) == set(shapes),
        f"return a dict with the same names as the weights: {sorted(shapes)}",
    )
    for name in shapes:
        expect(
            answer[name],
            weights[name] - alphas[name] * gradients[name],
            f"theta' of {name}",
            mistakes={
                "the step goes against the gradient: theta - alpha * grad, not +": weights[name]
                + alphas[name] * gradients[name],
                "one number for every weight is MAML's alpha; Meta-SGD multiplies each weight's gradient by "
                "its own alpha, elementwise": weights[name] - alphas[name].mean() * gradients[name],
                "that is the step, alpha * grad; theta' is theta minus it": alphas[name] * gradients[name],
            },
        )
    return (
        "Right: theta' = theta - alpha (*) grad L_S. alpha has the shape of theta, is meta-learned with it, and "
        "is the same for every task: a learned constraint on how any task may move the weights."
    )


@checker
def check_similarity_weights(weights_from_errors):
    """weights_from_errors(errors, temperature) -> [sources] weights: the better a source task fits the new
    task's support set (the lower its error), the more it counts; weights are positive and sum to 1."""
    errors = torch.tensor([0.5, 4.0, 0.1, 2.0])  # [sources] mean squared error of each source on the support set
    for temperature in (1.0, 0.2):
        right = similarity_weights(errors, temperature)
        expect(
            call(weights_from_errors, errors, temperature),
            right,
            f"the weights at temperature {temperature}",
            mistakes={
                "these weights grow with the error: the worst-fitting task counts most. Negate the "
                "errors: softmax(-errors / temperature)": torch.softmax(errors / temperature, dim=0),
                "the temperature is missing: softmax(-errors / temperature) (try temperature 0.2)": torch.softmax(
                    -errors, dim=0
                ),
                "these do not come from a softmax: errors divided by their sum grow with the error and "
                "give no control over how sharp the weighting is": errors / errors.sum(),
                "a weight per task, all alike: that ignores the similarity (infinite temperature)": torch.full_like(
                    errors, 0.25
                ),
            },
        )
    return (
        "Right: softmax(-errors / temperature). A high temperature trusts every task alike, a low one only "
        "the nearest; in between, similar tasks share the prediction."
    )

"""Exercises of notebook 7.7 (learned optimizers): the gradient preprocessing of Andrychowicz et al. 2016,
and Meta-LSTM's update theta_t = f_t * theta_{t-1} - i_t * grad_t with the gates that make it SGD."""

from __future__ import annotations

import math

import torch

from fewshot_lab.exercises import call, checker, expect, require
from fewshot_lab.learned_optimizer import preprocess


@checker
def check_preprocess(preprocess_gradient):
    """preprocess_gradient(gradient, p) -> [..., 2]: (log|g| / p, sign g) if |g| >= e^-p, else (-1, e^p g)."""
    p = 10.0
    nonzero = torch.tensor([10.0, 1.0, 0.001, -0.001, 1e-6, -1e-6], dtype=torch.float64)  # [gradients]
    large = (nonzero.abs() >= math.exp(-p)).unsqueeze(-1)  # [gradients, 1]
    log_form = torch.stack([nonzero.abs().log() / p, nonzero.sign()], dim=-1)  # [gradients, 2]
    linear_form = torch.stack([-torch.ones_like(nonzero), math.exp(p) * nonzero], dim=-1)
    expect(
        call(preprocess_gradient, nonzero, p),
        preprocess(nonzero, p),
        "the preprocessed gradients",
        mistakes={
            "Stack the two inputs on a new last dimension, [..., 2] (torch.stack(..., dim=-1))": preprocess(
                nonzero, p
            ).T,
            "divide the log by p: log|g| / p keeps the first input near [-1, 1]": torch.where(
                large, log_form * torch.tensor([p, 1.0]), linear_form
            ),
            "the two cases are swapped: (log|g| / p, sign g) is for large gradients, |g| >= e^-p": torch.where(
                large, linear_form, log_form
            ),
            "gradients smaller than e^-p (here 1e-6) take the second form, (-1, e^p g), since their "
            "log / p would fall far below -1": log_form,
        },
    )
    zero = torch.zeros(3, dtype=torch.float64)
    expect(
        call(preprocess_gradient, zero, p),
        preprocess(zero, p),
        "the preprocessed zero gradients",
        mistakes={
            "a zero gradient gives log 0 = -inf: every |g| < e^-p takes the second form, (-1, e^p g)": torch.stack(
                [zero.log() / p, zero], dim=-1
            )
        },
    )
    return (
        "Right: the LSTM sees the gradient's order of magnitude and its sign, each in about [-1, 1], over the "
        "many orders of magnitude gradients span."
    )


@checker
def check_metalstm_update(metalstm_update):
    """metalstm_update(theta, gradient, input_gate, forget_gate) -> f_t * theta_{t-1} - i_t * grad_t (eq. 2)."""
    generator = torch.Generator().manual_seed(0)
    theta, gradient = torch.randn(6, generator=generator), torch.randn(6, generator=generator)  # [coordinates]
    input_gate, forget_gate = torch.rand(6, generator=generator), torch.rand(6, generator=generator)
    expect(
        call(metalstm_update, theta, gradient, input_gate, forget_gate),
        forget_gate * theta - input_gate * gradient,
        "the new cell state theta_t",
        mistakes={
            "this climbs the loss: the candidate cell state is c~_t = -grad_t, so subtract i_t * grad_t": forget_gate
            * theta
            + input_gate * gradient,
            "the gates are swapped: the forget gate f_t scales the old cell state theta_{t-1}, the input "
            "gate i_t the candidate -grad_t": input_gate * theta - forget_gate * gradient,
            "the forget gate must scale theta_{t-1}: c_t = f_t * c_{t-1} + i_t * c~_t": theta - input_gate * gradient,
        },
    )
    return "Right: an LSTM cell update whose cell state is the classifier's weights."


@checker
def check_sgd_gates(sgd_gates):
    """sgd_gates(learning_rate, weight_decay) -> (i, f), constant gates that make the Meta-LSTM update SGD with
    that learning rate and weight decay: theta - lr * (grad + weight_decay * theta)."""
    for learning_rate, weight_decay in ((0.1, 0.0), (0.01, 0.5)):
        answer = call(sgd_gates, learning_rate, weight_decay)
        require(
            isinstance(answer, tuple) and len(answer) == 2,
            f"sgd_gates returned {type(answer).__name__}; return the pair `return input_gate, forget_gate`",
        )
        setting = f"for learning rate {learning_rate} and weight decay {weight_decay}"
        expect(
            answer[0],
            learning_rate,
            f"the input gate {setting}",
            mistakes={"the input gate multiplies -grad_t, so it is the learning rate": 1 - learning_rate},
        )
        expect(
            answer[1],
            1 - learning_rate * weight_decay,
            f"the forget gate {setting}",
            mistakes={
                "a forget gate of 0 erases the weights at every step; 1 keeps them": 0.0,
                "the forget gate multiplies theta_{t-1}: 1 keeps it, and weight decay shrinks it to "
                "1 - lr * weight_decay": weight_decay,
                "with weight decay the forget gate is below 1: f_t = 1 - lr * weight_decay shrinks theta_{t-1}": 1.0,
                "the decay is scaled by the learning rate: theta - lr * weight_decay * theta": 1 - weight_decay,
            },
        )
    return (
        "Right: i_t is a learning rate and 1 - f_t a weight decay; Meta-LSTM learns both, per coordinate and per "
        "step (adapted_weights(fixed_gates=(lr, 1.0)) is plain SGD)."
    )

"""The checkers of notebook 7.6's exercises accept a right answer and explain typical wrong ones."""

import torch
from torch import nn

from fewshot_lab.exercises.s76 import check_least_used, check_previous_labels, check_read


def test_previous_labels():
    def right(labels, ways):
        shown = nn.functional.one_hot(labels, ways).float()
        return torch.cat([torch.zeros(1, ways), shown[:-1]])

    assert check_previous_labels(right)
    same_step = check_previous_labels(lambda labels, ways: nn.functional.one_hot(labels, ways).float())
    assert not same_step and "the network would be told the answer" in str(same_step)
    rolled = check_previous_labels(lambda labels, ways: torch.roll(nn.functional.one_hot(labels, ways), 1, 0))
    assert not rolled and "torch.roll wraps around" in str(rolled)
    assert "not written yet" in str(
        check_previous_labels(lambda labels, ways: (_ for _ in ()).throw(NotImplementedError()))
    )


def test_least_used():
    def right(usage, count):
        return torch.zeros_like(usage).scatter_(-1, usage.argsort(-1)[:, :count], 1.0)

    assert check_least_used(right)
    most = check_least_used(
        lambda usage, count: torch.zeros_like(usage).scatter_(-1, (-usage).argsort(-1)[:, :count], 1.0)
    )
    assert not most and "most used" in str(most)
    one = check_least_used(
        lambda usage, count: torch.zeros_like(usage).scatter_(-1, usage.argmin(-1, keepdim=True), 1.0)
    )
    assert not one and "`count`" in str(one)
    assert "returned None" in str(check_least_used(lambda usage, count: None))


def test_read():
    def weights(keys, memory, strengths, normalise=True):
        if normalise:
            keys, memory = nn.functional.normalize(keys, dim=-1), nn.functional.normalize(memory, dim=-1)
        return (strengths.unsqueeze(-1) * keys @ memory.transpose(1, 2)).softmax(-1)

    assert check_read(lambda keys, memory, strengths: weights(keys, memory, strengths) @ memory)
    dot = check_read(lambda keys, memory, strengths: weights(keys, memory, strengths, normalise=False) @ memory)
    assert not dot and "cosine similarity" in str(dot)
    flat = check_read(lambda keys, memory, strengths: weights(keys, memory, torch.ones_like(strengths)) @ memory)
    assert not flat and "key strengths beta are missing" in str(flat)
    weights_only = check_read(lambda keys, memory, strengths: weights(keys, memory, strengths))
    assert not weights_only and "shape" in str(weights_only)

"""Exercises of notebook 7.6 (memory-augmented networks, Santoro et al. 2016): the label shown one step late,
the least-used slots that LRUA writes to, and a read by content (cosine similarity, sharpened softmax)."""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.exercises import call, checker, expect
from fewshot_lab.methods.memory import content_weights, least_used


@checker
def check_previous_labels(previous_labels):
    """previous_labels(labels, ways) -> onehot(y_{t-1}) for every step t, zeros at t = 0, [steps, ways]."""
    labels, ways = torch.tensor([2, 0, 2, 1, 0, 1]), 3
    shown = nn.functional.one_hot(labels, ways).float()  # [steps, ways]
    expected = torch.cat([torch.zeros(1, ways), shown[:-1]])
    expect(
        call(previous_labels, labels, ways),
        expected,
        "the label inputs",
        mistakes={
            "this is the label of the same step: the network would be told the answer. Shift by one "
            "step, so that step t shows y_{t-1}": shown,
            "this shows the next step's label; step t must see the label of step t - 1": torch.cat(
                [shown[1:], torch.zeros(1, ways)]
            ),
            "the first step shows the last label (torch.roll wraps around): nothing was shown before "
            "step 1, so its row is all zeros": torch.roll(shown, 1, dims=0),
        },
    )
    return (
        "Right: at step t the network sees x_t with y_{t-1}, so it can only learn a class's label after "
        "guessing its first drawing, and must bind it to the drawing it saw one step before."
    )


@checker
def check_least_used(least_used_slots):
    """least_used_slots(usage, count) -> [episodes, slots]: 1 at the `count` slots of lowest usage of each episode,
    else 0."""
    usage = torch.tensor([[0.9, 0.1, 0.5, 0.05, 2.0, 0.7], [0.3, 1.2, 0.0, 0.8, 0.2, 2.5]])  # [episodes, slots]
    expect(
        call(least_used_slots, usage, 2),
        least_used(usage, 2),
        "the least-used slots",
        mistakes={
            "these are the most used slots: LRUA writes new information where usage is lowest": least_used(-usage, 2),
            "one slot per episode: mark the `count` (here 2) least-used slots": least_used(usage, 1),
            (
                "Did you sort over the episodes (dimension 0)? Rank the slots of each episode (dimension -1)"
            ): torch.zeros_like(usage).scatter_(0, usage.argsort(0)[:1], 1.0),
        },
    )
    return (
        "Right: w^lu marks the least-used slots; a write gate near 0 sends the new key there, so a new class "
        "gets a fresh row instead of overwriting a class still in use."
    )


@checker
def check_read(read):
    """read(keys, memory, strengths) -> r_t = sum_i w^r_t(i) M_t(i), w^r the softmax over slots of beta times the
    cosine similarity; keys [episodes, heads, width], memory [episodes, slots, width], strengths [episodes, heads]."""
    generator = torch.Generator().manual_seed(0)
    keys, memory = torch.randn(2, 3, 4, generator=generator), torch.randn(2, 5, 4, generator=generator) * 3
    strengths = torch.tensor([[1.0, 4.0, 10.0], [2.0, 0.5, 6.0]])
    similarity = nn.functional.normalize(keys, dim=-1) @ nn.functional.normalize(memory, dim=-1).transpose(1, 2)
    sharpened = strengths.unsqueeze(-1) * similarity  # [episodes, heads, slots]
    dot = (strengths.unsqueeze(-1) * (keys @ memory.transpose(1, 2))).softmax(-1)
    expect(
        call(read, keys, memory, strengths),
        content_weights(keys, memory, strengths) @ memory,
        "the read vectors",
        mistakes={
            "the weights use the plain dot product; Santoro et al. compare by cosine similarity (divide "
            "by both norms), so that a row's length does not decide where a head looks": dot @ memory,
            "the key strengths beta are missing: multiply the cosines by beta before the softmax, or every "
            "read stays almost a flat average": similarity.softmax(-1) @ memory,
            "the softmax must run over the slots (the last dimension), not over the heads": sharpened.softmax(1)
            @ memory,
        },
    )
    return (
        "Right: a read is a convex combination of memory rows, weighted by how similar each row is to the key; "
        "beta sharpens it towards the best match, which is how a drawing finds the row its class wrote."
    )

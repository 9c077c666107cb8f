"""The memory of a Neural Turing Machine (Graves, Wayne & Danihelka 2014, section 3), section 7.6: how a head finds
where to read or write, and what reading and writing do. For a memory M [slots, width] and each head, at step t
(all batched over sequences and heads):

    w^c_t(i) = exp(beta_t K(k_t, M(i))) / sum_j exp(beta_t K(k_t, M(j)))    content addressing (eqs. 5-6)
    w^g_t = g_t w^c_t + (1 - g_t) w_{t-1}                                    interpolation (eq. 7)
    w~_t(i) = sum_j w^g_t(j) s_t(i - j)                                      circular shift (eq. 8)
    w_t(i) = w~_t(i)^gamma_t / sum_j w~_t(j)^gamma_t                          sharpening (eq. 9)
    r_t = sum_i w_t(i) M_t(i)                                                reading (eq. 2)
    M_t(i) = M_{t-1}(i) [1 - w_t(i) e_t] + w_t(i) a_t                        writing: erase, then add (eqs. 3-4)

K is the cosine similarity, as in the MANN (content_weights, fewshot_lab.methods.memory); beta_t >= 0 is the key
strength; g_t in [0, 1] chooses between finding a row by what it holds (1) and moving on from where the head was (0);
s_t is a distribution over the shifts -1, 0, +1 (indices i - j are taken modulo the number of slots, so a head that
leaves the last slot comes back at the first); gamma_t >= 1 undoes the blur of a shift. The erase vector
e_t in [0, 1]^width and the add vector a_t act on every row in proportion to its weight; with several write heads
the erasures multiply and the additions sum, so their order does not matter.
"""

from __future__ import annotations

import torch

from fewshot_lab.methods.memory import content_weights

SHIFTS = (-1, 0, 1)  # the shifts s_t is a distribution over, in this order
SMALLEST_WEIGHT = 1e-20  # weights are lifted to this before sharpening: the gradient of 0^gamma in gamma is not finite


def interpolate(content: torch.Tensor, previous: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
    """w^g_t (eq. 7): content and previous weights [..., slots], gates g_t [...]."""
    gates = gates.unsqueeze(-1)
    return gates * content + (1 - gates) * previous


def shift(weights: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """w~_t (eq. 8): weights [..., slots] moved circularly by each offset of SHIFTS, mixed by shifts [..., 3]."""
    return sum(torch.roll(weights, offset, dims=-1) * shifts[..., index, None] for index, offset in enumerate(SHIFTS))


def sharpen(weights: torch.Tensor, sharpening: torch.Tensor) -> torch.Tensor:
    """w_t (eq. 9): weights [..., slots] raised to gamma_t [...] and normalised again."""
    powered = weights.clamp_min(SMALLEST_WEIGHT) ** sharpening.unsqueeze(-1)
    return powered / powered.sum(-1, keepdim=True)


def address(
    memory: torch.Tensor,
    previous: torch.Tensor,
    keys: torch.Tensor,
    strengths: torch.Tensor,
    gates: torch.Tensor,
    shifts: torch.Tensor,
    sharpening: torch.Tensor,
) -> torch.Tensor:
    """Eqs. 5-9, [sequences, heads, slots]: memory [sequences, slots, width], previous weights w_{t-1}
    [sequences, heads, slots], keys k_t [sequences, heads, width], strengths beta_t, gates g_t and sharpening
    gamma_t [sequences, heads], shifts s_t [sequences, heads, 3]."""
    content = content_weights(keys, memory, strengths)  # [sequences, heads, slots], w^c_t
    return sharpen(shift(interpolate(content, previous, gates), shifts), sharpening)


def read(memory: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """r_t (eq. 2), [sequences, heads, width]: memory [sequences, slots, width], weights [sequences, heads, slots]."""
    return weights @ memory


def write(memory: torch.Tensor, weights: torch.Tensor, erase: torch.Tensor, add: torch.Tensor) -> torch.Tensor:
    """M_t (eqs. 3-4), [sequences, slots, width]: memory M_{t-1}, weights [sequences, heads, slots], erase e_t and
    add a_t [sequences, heads, width]."""
    kept = (1 - weights.unsqueeze(-1) * erase.unsqueeze(-2)).prod(dim=1)  # [sequences, slots, width]
    return memory * kept + weights.transpose(1, 2) @ add

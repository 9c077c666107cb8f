"""The external memory of a memory-augmented neural network (Santoro et al. 2016), section 7.6.

A memory M_t [slots, width] is read by content, like a Neural Turing Machine (Graves et al. 2014), and
written by Least Recently Used Access (LRUA): new information goes either to the least-used slot or to
the slot that was just read. One step, for each of `heads` read heads with key k_t and gate alpha_t
(all batched over episodes):

    w^lu_{t-1}(i) = 1 if w^u_{t-1}(i) <= m(w^u_{t-1}, n) else 0       (the n = heads least-used slots)
    w^w_t = sigma(alpha_t) w^r_{t-1} + (1 - sigma(alpha_t)) w^lu_{t-1}  (write weights, eq. 7; with last_gates,
                                                                         not in the paper, w^lu_{t-1} is replaced by
                                                                         sigma(delta_t) w^lu_{t-2}
                                                                         + (1 - sigma(delta_t)) w^lu_{t-1})
    M_t(i) = M_{t-1}(i) + w^w_t(i) k_t                                  (eq. 8, summed over heads, after the
                                                                         least-used slot is set to zero; or
                                                                         w^w_t(i) a_t, a separate add vector)
    K(k_t, M(i)) = k_t . M(i) / (||k_t|| ||M(i)||)                      (cosine similarity, eq. 2; M is M_{t-1})
    w^r_t(i) = exp(beta_t K(k_t, M(i))) / sum_j exp(beta_t K(k_t, M(j)))   (read weights, eq. 3)
    r_t = sum_i w^r_t(i) M_t(i)                                         (read vector, eq. 4)
    w^u_t = gamma w^u_{t-1} + w^r_t + w^w_t                             (usage, decaying by gamma, eq. 6)

m(v, n) is the n-th smallest element of v. beta_t >= 1, the key strength that sharpens the softmax, comes
from the Neural Turing Machine; Santoro et al. write eq. 3 with beta_t = 1.
Where to look is decided on the memory before this step's write (M_{t-1}), and what is read comes from the memory
after it (M_t). Eqs. 2-4 of the paper compare the keys with M_t; when the key itself is written (eq. 8), such a key
would mostly find the row it has just written. results/mann_omniglot_small.md records both designs, measured.
The memory holds no parameters: what it stores lives within one episode (fast), while the controller that
writes and reads it is meta-learned across episodes (slow).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class MemoryState(NamedTuple):
    memory: torch.Tensor  # [episodes, slots, width], M_t
    usage: torch.Tensor  # [episodes, slots], w^u_t
    read_weights: torch.Tensor  # [episodes, heads, slots], w^r_t
    write_weights: torch.Tensor  # [episodes, heads, slots], w^w_t
    reads: torch.Tensor  # [episodes, heads, width], r_t
    fresh: torch.Tensor  # [episodes, slots], w^lu_{t-1}: the least-used slots this step wrote to


def least_used(usage: torch.Tensor, count: int) -> torch.Tensor:
    """w^lu: 1 at the `count` slots of lowest usage, 0 elsewhere, [episodes, slots] (ties go to the lower index)."""
    order = torch.sort(usage, dim=-1, stable=True).indices  # [episodes, slots], least used first
    return torch.zeros_like(usage).scatter_(-1, order[..., :count], 1.0)


def content_weights(keys: torch.Tensor, memory: torch.Tensor, strengths: torch.Tensor) -> torch.Tensor:
    """w^r: softmax over slots of beta times the cosine similarity of each key with each row, [episodes, heads, slots].

    keys [episodes, heads, width], memory [episodes, slots, width], strengths [episodes, heads].
    """
    cosine = nn.functional.normalize(keys, dim=-1, eps=1e-8) @ nn.functional.normalize(
        memory, dim=-1, eps=1e-8
    ).transpose(1, 2)
    return (strengths.unsqueeze(-1) * cosine).softmax(dim=-1)


class LRUAMemory(nn.Module):
    """Least Recently Used Access to a [slots, width] memory with `heads` read heads (each also writes).

    gamma: the decay of the usage weights. initial: the value of every memory cell at the start of an
    episode (small, so that cosine similarities are defined and the first writes dominate).
    """

    def __init__(self, slots: int = 128, width: int = 40, heads: int = 4, gamma: float = 0.95, initial: float = 1e-6):
        super().__init__()
        if not 0 < heads <= slots:
            raise ValueError(f"heads must be between 1 and the number of slots ({slots}), got {heads}")
        if not 0 <= gamma <= 1:
            raise ValueError(f"gamma (the usage decay) must lie in [0, 1], got {gamma}")
        self.slots, self.width, self.heads, self.gamma, self.initial = slots, width, heads, gamma, initial

    def initial_state(self, episodes: int, device=None, dtype=None) -> MemoryState:
        """An empty memory: every cell at `initial`, no usage, no previous reads or writes."""
        weights = torch.zeros(episodes, self.heads, self.slots, device=device, dtype=dtype)
        return MemoryState(
            memory=torch.full((episodes, self.slots, self.width), self.initial, device=device, dtype=dtype),
            usage=torch.zeros(episodes, self.slots, device=device, dtype=dtype),
            read_weights=weights,
            write_weights=weights,
            reads=torch.zeros(episodes, self.heads, self.width, device=device, dtype=dtype),
            fresh=torch.zeros(episodes, self.slots, device=device, dtype=dtype),
        )

    def forward(
        self,
        state: MemoryState,
        keys: torch.Tensor,
        strengths: torch.Tensor,
        write_gates: torch.Tensor,
        contents: torch.Tensor | None = None,
        last_gates: torch.Tensor | None = None,
    ) -> MemoryState:
        """One step of addressing, writing and reading. keys [episodes, heads, width]; strengths beta_t and
        write_gates sigma(alpha_t) [episodes, heads]; contents [episodes, heads, width], what each head writes: by
        default its key k_t (eq. 8), or a separate add vector a_t (as in the NTM, and in public reimplementations of
        the paper).
        last_gates sigma(delta_t) [episodes, heads], not in the paper: a third place to write, the least-used slots
        that the last step wrote to (state.fresh, w^lu_{t-2}). The part of the write that does not go to the slots
        read last step is split between them and this step's least-used slots:
            w^w_t = sigma(alpha_t) w^r_{t-1}
                    + (1 - sigma(alpha_t)) (sigma(delta_t) w^lu_{t-2} + (1 - sigma(delta_t)) w^lu_{t-1})
        so a head can add the label that arrives at this step to the image stored at the last step. It points one
        step back only: a head that keeps the gate open still writes each step's fresh slots once more, not forever."""
        contents = keys if contents is None else contents
        least = least_used(state.usage, self.heads)  # [episodes, slots], w^lu_{t-1}
        gates = write_gates.unsqueeze(-1)  # [episodes, heads, 1]
        new = least.unsqueeze(1)  # [episodes, 1, slots], where new information goes
        if last_gates is not None:
            last = last_gates.unsqueeze(-1)  # [episodes, heads, 1]
            new = last * state.fresh.unsqueeze(1) + (1 - last) * new  # [episodes, heads, slots]
        write_weights = gates * state.read_weights + (1 - gates) * new  # [episodes, heads, slots]
        emptiest = state.usage.argmin(dim=-1, keepdim=True)  # [episodes, 1], the least-used slot (first of ties)
        kept = torch.ones_like(state.usage).scatter_(-1, emptiest, 0.0)  # [episodes, slots]
        memory = (
            state.memory * kept.unsqueeze(-1) + write_weights.transpose(1, 2) @ contents
        )  # [episodes, slots, width]
        read_weights = content_weights(keys, state.memory, strengths)  # [episodes, heads, slots], looked up in M_{t-1}
        reads = read_weights @ memory  # [episodes, heads, width], from M_t
        usage = self.gamma * state.usage + read_weights.sum(1) + write_weights.sum(1)  # [episodes, slots]
        return MemoryState(memory, usage, read_weights, write_weights, reads, least)

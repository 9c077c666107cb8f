"""Neural Turing Machine (Graves, Wayne & Danihelka 2014), section 7.6, learning the paper's copy task.

An LSTM controller reads and writes an external memory M [slots, width] through `heads` read heads and as many write
heads, each addressed by content and by location (fewshot_lab.methods.addressing). One step:

    h_t, c_t = LSTM([x_t, r_{t-1}], (h_{t-1}, c_{t-1}))                          (controller)
    for every head, from W h_t:  k_t = tanh(.), beta_t = softplus(.), g_t = sigmoid(.),
                                 s_t = softmax(.) over shifts -1, 0, +1, gamma_t = 1 + softplus(.)
    for every write head also:   e_t = sigmoid(.), a_t = tanh(.)
    w_t = address(M_{t-1}, w_{t-1}, k_t, beta_t, g_t, s_t, gamma_t)              (eqs. 5-9, every head)
    r_t = sum_i w^r_t(i) M_{t-1}(i)                                               (eq. 2, the read heads)
    M_t(i) = M_{t-1}(i) [1 - w^w_t(i) e_t] + w^w_t(i) a_t                          (eqs. 3-4, the write heads)
    p(y_t) = sigmoid(W_o [h_t, r_t] + b_o)                                        (output bits)

Every head looks at the memory as the last step left it (the paper leaves the order open), so all are addressed at
once, and a read at step t finds what earlier steps wrote. Every head starts an episode at the first slot (w_0
one-hot there), and the memory starts with every cell at INITIAL_MEMORY, so that cosine similarities are defined and
content addressing finds nothing until something is written. Nothing in the weights says "sweep the memory": a write
head that moves one slot per step (g_t = 0, s_t on +1, gamma_t large) while the sequence is shown, and a read head
that sweeps the same rows during the recall, are what training finds (the paper's figure 6;
fewshot_lab.lessons.s76.plot_copy_weightings draws them). The shipped NTM's read head waits at the
first slot until the delimiter, then moves on by one slot per step (the paper's program returns a head to the start
location after the delimiter).
Because that program does not depend on the length, it still works on sequences longer than any in training, where
an LSTM, which holds the sequence in its state, fails (results/ntm_copy.md).

Sizes follow the paper's copy task: controller 100 units, memory 128 x 20, one read and one write head.
The training, the learner protocol and the LSTM baseline are shared (fewshot_lab.methods.copying).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from fewshot_lab.checks import check_positive_int
from fewshot_lab.methods.addressing import SHIFTS, address, read, write
from fewshot_lab.methods.copying import CopyLearner

INITIAL_MEMORY = 1e-6  # every memory cell at the start of an episode


class MachineState(NamedTuple):
    hidden: torch.Tensor  # [sequences, hidden], h_t
    cell: torch.Tensor  # [sequences, hidden], c_t
    memory: torch.Tensor  # [sequences, slots, width], M_t
    read_weights: torch.Tensor  # [sequences, heads, slots], w^r_t
    write_weights: torch.Tensor  # [sequences, heads, slots], w^w_t
    reads: torch.Tensor  # [sequences, heads, width], r_t


class NeuralTuringMachine(CopyLearner):
    """An NTM with an LSTM controller (Graves et al. 2014).

    bits: the width of the vectors to copy; hidden: controller units; slots x width: the memory (N x M in the paper);
    heads: read heads, and as many write heads.
    """

    method = "ntm"

    def __init__(self, bits: int = 8, hidden: int = 100, slots: int = 128, width: int = 20, heads: int = 1):
        super().__init__(bits)
        for name, value in (("hidden", hidden), ("slots", slots), ("width", width), ("heads", heads)):
            check_positive_int(name, value)
        self.slots, self.width, self.heads = slots, width, heads
        self.controller = nn.LSTMCell(bits + 1 + heads * width, hidden)
        addressed = 2 * heads  # the read heads, then the write heads
        # the interface W h_t, split into every head's addressing parameters, then the write heads' e_t and a_t
        self.interface_sizes = {
            "keys": addressed * width,
            "strengths": addressed,
            "gates": addressed,
            "shifts": addressed * len(SHIFTS),
            "sharpening": addressed,
            "erase": heads * width,
            "add": heads * width,
        }
        self.interface = nn.Linear(hidden, sum(self.interface_sizes.values()))
        self.output = nn.Linear(hidden + heads * width, bits)

    def initial_state(self, sequences: int, device) -> MachineState:
        zeros = torch.zeros(sequences, self.controller.hidden_size, device=device)
        first_slot = torch.zeros(sequences, self.heads, self.slots, device=device)
        first_slot[..., 0] = 1.0  # w_0: every head starts at the first slot
        return MachineState(
            hidden=zeros,
            cell=zeros,
            memory=torch.full((sequences, self.slots, self.width), INITIAL_MEMORY, device=device),
            read_weights=first_slot,
            write_weights=first_slot,
            reads=torch.zeros(sequences, self.heads, self.width, device=device),
        )

    def step(self, inputs: torch.Tensor, state: MachineState):
        heads, width = self.heads, self.width
        hidden, cell = self.controller(torch.cat([inputs, state.reads.flatten(1)], dim=1), (state.hidden, state.cell))
        sizes = self.interface_sizes
        parts = dict(zip(sizes, self.interface(hidden).split(list(sizes.values()), dim=1)))
        weights = address(
            state.memory,
            torch.cat([state.read_weights, state.write_weights], dim=1),  # [sequences, 2 heads, slots], w_{t-1}
            torch.tanh(parts["keys"]).view(-1, 2 * heads, width),  # k_t
            nn.functional.softplus(parts["strengths"]),  # beta_t >= 0
            torch.sigmoid(parts["gates"]),  # g_t
            parts["shifts"].view(-1, 2 * heads, len(SHIFTS)).softmax(-1),  # s_t
            1 + nn.functional.softplus(parts["sharpening"]),  # gamma_t >= 1
        )  # [sequences, 2 heads, slots], w_t
        read_weights, write_weights = weights.split(heads, dim=1)
        reads = read(state.memory, read_weights)  # [sequences, heads, width], r_t
        erase = torch.sigmoid(parts["erase"]).view(-1, heads, width)  # e_t
        add = torch.tanh(parts["add"]).view(-1, heads, width)  # a_t
        memory = write(state.memory, write_weights, erase, add)  # [sequences, slots, width], M_t
        scores = self.output(torch.cat([hidden, reads.flatten(1)], dim=1))  # [sequences, bits]
        return scores, MachineState(hidden, cell, memory, read_weights, write_weights, reads)

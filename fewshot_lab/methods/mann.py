"""Memory-augmented neural networks (Santoro, Bartunov, Botvinick, Wierstra & Lillicrap 2016), section 7.6.

A MANN meta-learns on sequences (fewshot_lab.methods.sequence): at step t it sees an image x_t and the
label of the previous step y_{t-1}, and must output y_t. Its LSTM controller reads and writes an external
memory M (fewshot_lab.methods.memory, Least Recently Used Access), and one step is

    h_t, c_t = LSTM([e(x_t), onehot(y_{t-1}), r_{t-1}], (h_{t-1}, c_{t-1}))     (controller)
    k_t = tanh(W_k h_t), beta_t = 1 + softplus(W_beta h_t), alpha_t = W_alpha h_t   (per read head)
    M_t, w^r_t, r_t = LRUA(M_{t-1}, k_t, beta_t, alpha_t)                         (write, then read by content)
    p(y_t | x_1..t, y_1..t-1) = softmax(W_o [h_t, r_t] + b_o)                      (output)

and meta-training minimises sum_t -log p(y_t | ...) over whole episodes. Two kinds of
learning happen at two speeds: the weights (controller, encoder, output) change slowly, by gradient descent across
episodes; the memory changes fast, within one episode, with no gradient step, and is wiped at the start of the next.
Because the class-to-label mapping is shuffled every episode, the weights cannot hold the answer: they
must learn *how* to bind an image to the label shown one step later, and to look it up again.

The shipped MANN (fewshot_lab.pretrained) is the variant SHIPPED_VARIANT, "add vectors, write to last", two
choices not in the paper: each head writes a separate add vector a_t = tanh(W_a h_t) instead of its key k_t (as
the NTM does), and a gate delta_t = W_delta h_t lets each head write to the least-used slots of step t-1 as well,
where the label that has just arrived belongs. Both default to off, the paper's design;
results/mann_omniglot_small.md measures each against it.

Sizes follow the paper: controller 200 units, memory 128 x 40, 4 read heads, usage decay gamma = 0.95. The image
encoder e(x), the sequences and the learner protocol are shared with the LSTM baseline (fewshot_lab.methods.sequence),
which is the same network without memory. The key strengths
beta_t start near 11 (the bias of their output is 10), so that the first reads are already sharp: with beta = 1 a
softmax over 128 cosines is almost flat, and training sat at chance much longer in our runs.
"""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.methods.memory import LRUAMemory
from fewshot_lab.methods.sequence import SequenceLearner

STRENGTH_BIAS = 10.0  # initial bias of the key strengths' output (see the module docstring)
SHIPPED_VARIANT = {"add_vectors": True, "write_to_last": True}  # "add vectors, write to last" (see above)


class MemoryAugmentedNetwork(SequenceLearner):
    """MANN with an LSTM controller and an LRUA memory (Santoro et al. 2016).

    hidden: controller units; slots x width: the memory; heads: read heads (each writes too); gamma: usage decay.
    add_vectors: each head writes a separate add vector a_t = tanh(W_a h_t) instead of its key k_t (eq. 8 of the
    paper writes the key). What is stored is then decoupled from how it is looked up: the controller can write
    the previous image's code with the label that has just arrived while it reads with the current image's.
    write_to_last: not in the paper; each head has a second gate delta_t = W_delta h_t and may also write to the
    least-used slots the last step wrote to (LRUAMemory.forward's last_gates). The label of a drawing arrives one
    step after the drawing, so this lets a head add it to the code stored then, where the heads, which look in
    M_{t-1}, can find it at once: a class's second drawing shown right after its first is then answerable from
    memory.
    The shipped MANN takes both (SHIPPED_VARIANT).
    """

    method = "mann"

    def __init__(
        self,
        ways: int = 5,
        instances: int = 10,
        encoder: str = "pixels",
        freeze_encoder: bool = False,
        hidden: int = 200,
        slots: int = 128,
        width: int = 40,
        heads: int = 4,
        gamma: float = 0.95,
        add_vectors: bool = False,
        write_to_last: bool = False,
    ):
        super().__init__(ways, instances, encoder, freeze_encoder)
        self.memory = LRUAMemory(slots, width, heads, gamma)
        self.add_vectors, self.write_to_last = add_vectors, write_to_last
        self.controller = nn.LSTMCell(self.input_features + ways + heads * width, hidden)
        # the interface W h_t, split into keys k_t, strengths beta_t, gates alpha_t (and add vectors a_t, gates delta_t)
        self.interface_sizes = {"keys": heads * width, "strengths": heads, "gates": heads}
        if add_vectors:
            self.interface_sizes["contents"] = heads * width
        if write_to_last:
            self.interface_sizes["last_gates"] = heads
        self.interface = nn.Linear(hidden, sum(self.interface_sizes.values()))
        with torch.no_grad():
            self.interface.bias[heads * width : heads * (width + 1)] = STRENGTH_BIAS  # beta_t = 1 + softplus(10 + ...)
        self.output = nn.Linear(hidden + heads * width, ways)

    def initial_state(self, episodes: int, device):
        zeros = torch.zeros(episodes, self.controller.hidden_size, device=device)
        return zeros, zeros, self.memory.initial_state(episodes, device)

    def step(self, inputs: torch.Tensor, state):
        hidden, cell, memory = state
        heads, width = self.memory.heads, self.memory.width
        hidden, cell = self.controller(torch.cat([inputs, memory.reads.flatten(1)], dim=1), (hidden, cell))
        parts = dict(zip(self.interface_sizes, self.interface(hidden).split(list(self.interface_sizes.values()), 1)))
        memory = self.memory(
            memory,
            torch.tanh(parts["keys"]).view(-1, heads, width),  # k_t
            1 + nn.functional.softplus(parts["strengths"]),  # beta_t
            torch.sigmoid(parts["gates"]),  # sigma(alpha_t)
            torch.tanh(parts["contents"]).view(-1, heads, width) if self.add_vectors else None,  # a_t
            torch.sigmoid(parts["last_gates"]) if self.write_to_last else None,  # sigma(delta_t)
        )
        scores = self.output(torch.cat([hidden, memory.reads.flatten(1)], dim=1))  # [episodes, ways]
        return scores, (hidden, cell, memory)

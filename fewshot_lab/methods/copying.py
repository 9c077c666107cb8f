"""Learning the copy task (Graves, Wayne & Danihelka 2014, section 4.1), section 7.6: what the Neural Turing Machine
(fewshot_lab.methods.ntm) and its LSTM baseline share, and the baseline itself.

A copy learner reads a sequence of random bit vectors x_1..x_L, a delimiter, then L steps of zero input, during which
it must output the sequence again (fewshot_lab.data.copy_task). The LSTM baseline is

    h_t, c_t = LSTM(x_t, (h_{t-1}, c_{t-1}))      (x_t: bits + 1 channels, the last the delimiter)
    p(y_t) = sigmoid(W_o h_t + b_o)               (one probability per bit)

and training minimises the bit cross-entropy of the recall steps only, -mean [y log p + (1 - y) log(1 - p)] over
the recalled bits (the paper's cost, averaged). Two speeds of learning, as in the MANN: the weights change slowly,
across sequences, by gradient descent; what one sequence holds is stored within it, with no gradient step (in the
LSTM's state, or in the NTM's memory) and forgotten at the next.

Learner protocol (fewshot_lab.learner): adapt reads the support set, the sequence, in the order of its positions
support_y, then the delimiter; the model of the task runs the recall steps query_x one after another from there
(the recall is a sequence, not independent queries) and gives bit scores [queries, bits]: a bit is recalled as 1
where its score is above 0. fewshot_lab.evaluation counts the bit errors per sequence.
"""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.checks import check_positive_int
from fewshot_lab.data.copy_task import CopySampler, presentation, recall_inputs
from fewshot_lab.data.tasks import MetaBatches
from fewshot_lab.learner import Learner
from fewshot_lab.methods.sequence import run_steps


class CopyLearner(Learner):
    """What the NTM and its LSTM baseline share: unrolling over the input steps, training on copy sequences and the
    learner protocol. Subclasses define initial_state(sequences, device) and step(inputs, state) -> (scores
    [sequences, bits], state).

    bits: the width of the vectors to copy (the paper's 8).
    """

    task_family = "copy"

    def __init__(self, bits: int = 8):
        super().__init__()
        check_positive_int("bits (per vector)", bits)
        self.bits = bits

    def initial_state(self, sequences: int, device):
        raise NotImplementedError

    def step(self, inputs: torch.Tensor, state):
        raise NotImplementedError

    def unroll(self, inputs: torch.Tensor, state=None, record: bool = False):
        """Run over input steps [sequences, steps, bits + 1]: the scores [sequences, steps, bits], the final state and
        (record=True) the state after every step."""
        state = self.initial_state(len(inputs), inputs.device) if state is None else state
        return run_steps(self.step, inputs, state, record)

    def training_stream(self, dataset, ways: int, shots: int, queries: int, meta_batch: int, seed: int):
        """Batches of `meta_batch` copy sequences from the train split, of a length drawn uniformly from 1 to `shots`
        for each batch (ways and queries are not used; validation copies sequences of length `shots`)."""
        self.check_bits(dataset.bits)
        return MetaBatches(CopySampler(dataset, "train", lengths=(1, shots), seed=seed), meta_batch)

    def training_loss(self, batch) -> tuple[torch.Tensor, float]:
        """The mean bit cross-entropy over the recall steps, and the fraction of bits recalled right."""
        inputs = torch.cat([presentation(batch.support_x), recall_inputs(batch.query_x)], dim=1)
        scores = self.unroll(inputs)[0][:, -batch.query_y.shape[1] :]  # [sequences, length, bits], the recall
        loss = nn.functional.binary_cross_entropy_with_logits(scores, batch.query_y)
        return loss, ((scores > 0) == (batch.query_y > 0.5)).double().mean().item()

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        if support_x.dim() != 2 or len(support_x) == 0 or support_y.shape != support_x.shape[:1]:
            raise ValueError(
                f"a copy task's support set is the sequence: vectors [length, bits] and their positions [length], "
                f"got shapes {tuple(support_x.shape)} and {tuple(support_y.shape)}"
            )
        self.check_bits(support_x.shape[1])
        sequence = support_x[torch.argsort(support_y)]  # [length, bits], in order
        _, state, _ = self.unroll(presentation(sequence).unsqueeze(0))

        def recall(query_x: torch.Tensor) -> torch.Tensor:
            self.check_bits(query_x.shape[-1])
            return self.unroll(recall_inputs(query_x).unsqueeze(0), state)[0][0]  # [queries, bits]

        return recall

    def check_bits(self, bits: int):
        if bits != self.bits:
            raise ValueError(
                f"this {self.method} learner copies {self.bits}-bit vectors, got vectors of {bits} bits; "
                f"build it with bits={bits}"
            )


class CopyLSTM(CopyLearner):
    """The LSTM baseline of the copy task: the NTM's controller and output without the memory, with more hidden
    units so that it has about as many weights (63,848 against the NTM's 62,660 with the defaults)."""

    method = "lstm-copy"

    def __init__(self, bits: int = 8, hidden: int = 120):
        super().__init__(bits)
        self.controller = nn.LSTMCell(bits + 1, hidden)
        self.output = nn.Linear(hidden, bits)

    def initial_state(self, sequences: int, device):
        zeros = torch.zeros(sequences, self.controller.hidden_size, device=device)
        return zeros, zeros

    def step(self, inputs: torch.Tensor, state):
        hidden, cell = self.controller(inputs, state)
        return self.output(hidden), (hidden, cell)

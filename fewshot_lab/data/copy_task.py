"""The copy task of the Neural Turing Machine (Graves, Wayne & Danihelka 2014, section 4.1), section 7.6.

A task is a sequence of `length` random binary vectors of `bits` bits (8 in the paper). The network sees the
sequence, then a delimiter on a channel of its own, then as many steps of zero input, during which it must
output the sequence again; only the recall is scored (bit cross-entropy in training, bit errors in evaluation):

    inputs    x_1 ... x_L   delimiter   0 ... 0          [2 L + 1 steps, bits + 1 channels]
    targets                             x_1 ... x_L      [L steps, bits]

As a few-shot task (the learner protocol, fewshot_lab.learner) the support set is the sequence to copy, one vector
per shot (so `shots` is the length) with support_y the position of each; the queries are the recall steps, whose
inputs are zero and whose targets are the sequence. The splits are independent seeded streams, as for sinusoid.

    copy = load_dataset("copy")
    task = copy.sampler("test", shots=20, seed=0).sample()               # one sequence of length 20
    batch = CopySampler(copy, "train", lengths=(1, 10)).sample_batch(16)  # 16 sequences of one length in 1..10
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fewshot_lab.checks import check_positive_int
from fewshot_lab.data.dataset import SPLITS
from fewshot_lab.data.tasks import TaskStream, TensorRecord, check_seed


@dataclass
class CopyTask(TensorRecord):
    """One sequence to copy; in a batch every tensor has a leading [sequences] dimension."""

    support_x: torch.Tensor  # [length, bits], the vectors shown
    support_y: torch.Tensor  # [length], the position of each vector in the sequence
    query_x: torch.Tensor  # [length, bits], the recall steps' inputs: zeros
    query_y: torch.Tensor  # [length, bits], the vectors to recall: the sequence again


class CopyTasks:
    """The family of copy tasks of `bits`-bit vectors (the paper's 8 by default)."""

    name = "copy"
    task_family = "copy"
    metric = "bit errors"

    def __init__(self, bits: int = 8):
        check_positive_int("bits (per vector)", bits)
        self.bits = bits

    def sampler(self, split: str = "train", shots: int = 10, queries: int | None = None, seed: int | None = 0):
        """Sequences of length `shots` from one split's stream; queries is not used (the recall is as long as the
        sequence)."""
        return CopySampler(self, split, lengths=(shots, shots), seed=seed)

    def describe(self, shots: int, queries: int) -> str:
        return f"sequences of length {shots}"

    def __repr__(self) -> str:
        return f"<CopyTasks: sequences of random {self.bits}-bit vectors, copied after a delimiter>"


class CopySampler(TaskStream):
    """Copy tasks from one split's seeded stream, of a length drawn uniformly from lengths = (shortest, longest);
    a batch has one length for all its sequences (Graves et al. draw the length of each from 1 to 20)."""

    def __init__(self, family: CopyTasks, split: str = "train", lengths=(1, 10), seed: int | None = 0):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
        shortest, longest = lengths
        if not all(isinstance(value, (int, np.integer)) and not isinstance(value, bool) for value in lengths):
            raise TypeError(f"sequence lengths must be integers, got {lengths!r}")
        if not 1 <= shortest <= longest:
            raise ValueError(
                f"a copy sequence needs a length of at least 1 (shots is the length), got {shortest} to {longest}"
            )
        check_seed(seed)
        self.family, self.split, self.lengths, self.seed = family, split, (int(shortest), int(longest)), seed
        self._rng = np.random.default_rng(None if seed is None else [seed, SPLITS.index(split)])

    def sample_batch(self, tasks: int) -> CopyTask:
        length = int(self._rng.integers(self.lengths[0], self.lengths[1] + 1))
        bits = torch.tensor(
            self._rng.integers(0, 2, (tasks, length, self.family.bits)), dtype=torch.get_default_dtype()
        )  # [tasks, length, bits]
        return CopyTask(
            support_x=bits,
            support_y=torch.arange(length).expand(tasks, length),
            query_x=torch.zeros_like(bits),
            query_y=bits.clone(),
        )

    def sample(self) -> CopyTask:
        return self.sample_batch(1).select(0)

    def __repr__(self) -> str:
        shortest, longest = self.lengths
        lengths = f"length {shortest}" if shortest == longest else f"lengths {shortest} to {longest}"
        return f"CopySampler({self.split}: {lengths}, {self.family.bits} bits, seed={self.seed})"


def presentation(sequence: torch.Tensor) -> torch.Tensor:
    """The input steps that show a sequence [..., length, bits]: its vectors with the delimiter channel off, then
    one step with only the delimiter on, [..., length + 1, bits + 1]."""
    shown = recall_inputs(sequence)  # [..., length, bits + 1]
    delimiter = torch.zeros_like(shown[..., :1, :])  # [..., 1, bits + 1]
    delimiter[..., -1] = 1.0
    return torch.cat([shown, delimiter], dim=-2)


def recall_inputs(vectors: torch.Tensor) -> torch.Tensor:
    """Input vectors [..., steps, bits] with the delimiter channel, off, added: [..., steps, bits + 1]."""
    return torch.cat([vectors, torch.zeros_like(vectors[..., :1])], dim=-1)

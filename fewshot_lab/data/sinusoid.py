"""The sinusoid regression task family of MAML (Finn, Abbeel & Levine 2017, section 5.1).

Each task is a sine wave y = A sin(x - phase) with amplitude A ~ U[0.1, 5.0] and phase ~ U[0, pi];
inputs x ~ U[-5, 5]. A K-shot task gives K (x, y) points as the support set and asks for y at the
query points. The family is continuous, so the meta-splits are independent random streams of waves
(train, val and test draw from different seeds), not disjoint sets of classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from fewshot_lab.data.dataset import SPLITS
from fewshot_lab.data.tasks import TaskStream, TensorRecord, check_seed


@dataclass
class SinusoidTask(TensorRecord):
    support_x: torch.Tensor  # [shots, 1]
    support_y: torch.Tensor  # [shots, 1]
    query_x: torch.Tensor  # [queries, 1]
    query_y: torch.Tensor  # [queries, 1]
    amplitude: torch.Tensor  # []
    phase: torch.Tensor  # []


class SinusoidFamily:
    """The family of sine-wave tasks, with the paper's ranges as defaults."""

    name = "sinusoid"
    is_regression = True

    def __init__(self, amplitude=(0.1, 5.0), phase=(0.0, math.pi), x_range=(-5.0, 5.0)):
        for label, (low, high) in (("amplitude", amplitude), ("phase", phase), ("x_range", x_range)):
            if not low < high:
                raise ValueError(f"{label} must be a (low, high) range with low < high, got {(low, high)}")
        self.amplitude, self.phase, self.x_range = tuple(amplitude), tuple(phase), tuple(x_range)

    def sampler(
        self, split: str = "train", shots: int = 10, queries: int = 10, seed: int | None = 0
    ) -> SinusoidSampler:
        return SinusoidSampler(self, split, shots, queries, seed)

    def wave(self, x: torch.Tensor, amplitude, phase) -> torch.Tensor:
        return amplitude * torch.sin(x - phase)

    def summary(self) -> str:
        return (
            f"sinusoid: y = A sin(x - phase), A ~ U{list(self.amplitude)}, phase ~ U[{self.phase[0]:.2f}, "
            f"{self.phase[1]:.2f}], x ~ U{list(self.x_range)}; an endless family of regression tasks"
        )

    def __repr__(self) -> str:
        return f"<SinusoidFamily {self.summary()}>"


class SinusoidSampler(TaskStream):
    """K-shot sine-wave tasks from one split's random stream: the same seed gives the same waves everywhere."""

    def __init__(
        self, family: SinusoidFamily, split: str = "train", shots: int = 10, queries: int = 10, seed: int | None = 0
    ):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
        if shots < 1 or queries < 0:
            raise ValueError(f"a sinusoid task needs shots >= 1 and queries >= 0, got shots={shots}, queries={queries}")
        check_seed(seed)
        self.family, self.split, self.shots, self.queries, self.seed = family, split, shots, queries, seed
        self._rng = np.random.default_rng(None if seed is None else [seed, SPLITS.index(split)])

    def sample(self) -> SinusoidTask:
        family, rng = self.family, self._rng
        amplitude = torch.tensor(rng.uniform(*family.amplitude), dtype=torch.float32)
        phase = torch.tensor(rng.uniform(*family.phase), dtype=torch.float32)
        x = torch.from_numpy(rng.uniform(*family.x_range, size=(self.shots + self.queries, 1))).float()
        y = family.wave(x, amplitude, phase)  # [shots + queries, 1]
        return SinusoidTask(x[: self.shots], y[: self.shots], x[self.shots :], y[self.shots :], amplitude, phase)

    def __repr__(self) -> str:
        return f"SinusoidSampler({self.split}: {self.shots}-shot, {self.queries} queries, seed={self.seed})"

"""The one clock of the package: the wall-clock seconds a block of work takes. Notebooks 7.4 and 7.5 time
adaptation with it, and so does fewshot_lab.compare.

    with Stopwatch(device) as clock:
        learner.adapt(support_x, support_y)(query_x)
    clock.seconds
"""

from __future__ import annotations

import math
import time

import torch


class Stopwatch:
    """Times the block it holds. CUDA runs asynchronously, so on a CUDA device the clock waits for the work queued
    before the block (not counted) and for the block's own work (counted)."""

    def __init__(self, device="cpu"):
        self.device = torch.device(device)
        self.seconds = math.nan

    def __enter__(self):
        self._synchronise()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *error):
        self._synchronise()
        self.seconds = time.perf_counter() - self.started
        return False

    def _synchronise(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

"""What a comparison measures besides accuracy (fewshot_lab.compare): the time of adaptation per task and the
peak memory of an evaluation, on CUDA or on a CPU (sampling /proc/self/statm after glibc's malloc_trim)."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import math
import os
import platform
import threading

import torch

from fewshot_lab.lessons.timing import Stopwatch


class TimedLearner:
    """A learner seen through evaluate: times adapt + scoring per task and fingerprints every task it is given."""

    def __init__(self, learner):
        self.learner = learner
        self.adapts_with_gradients = learner.adapts_with_gradients
        self.compares_embeddings = False  # evaluate hands it images, task by task: each task's time includes embedding
        self.training = False
        self.seconds: list[float] = []
        self.fingerprint = hashlib.blake2b(digest_size=16)

    def eval(self):
        self.learner.eval()

    def train(self):
        self.learner.train()

    def parameters(self):
        return self.learner.parameters()

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        for tensor in (support_x, support_y):
            self.fingerprint.update(tensor.detach().cpu().numpy().tobytes())
        with Stopwatch(support_x.device) as adapting:
            task_model = self.learner.adapt(support_x, support_y)

        def scores(query_x: torch.Tensor) -> torch.Tensor:
            self.fingerprint.update(query_x.detach().cpu().numpy().tobytes())
            with Stopwatch(query_x.device) as labelling:
                result = task_model(query_x)
            self.seconds.append(adapting.seconds + labelling.seconds)
            return result

        return scores


MEMORY_NOTE = {
    "cuda": "peak CUDA memory allocated during the evaluation, above what was allocated before it "
    "(torch.cuda.max_memory_allocated)",
    "cpu": "peak resident set size of the process during the evaluation, above its value before it (after glibc's "
    "malloc_trim), sampled every 2 ms from /proc/self/statm (coarse: a few MB)",
}


class PeakMemory:
    """How much memory a block used at its peak, in MB (see MEMORY_NOTE)."""

    def __init__(self, device: torch.device):
        self.device, self.peak_mb = torch.device(device), math.nan

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
        elif _resident_bytes() is not None:
            _return_free_memory()
            self.start = self.peak = _resident_bytes()
            self.stop = threading.Event()
            self.sampler = threading.Thread(target=self._sample, daemon=True)
            self.sampler.start()
        return self

    def _sample(self):
        while not self.stop.wait(0.002):
            self.peak = max(self.peak, _resident_bytes())

    def __exit__(self, *error):
        if self.device.type == "cuda":
            self.peak_mb = (torch.cuda.max_memory_allocated(self.device) - self.start) / 2**20
        elif hasattr(self, "sampler"):
            self.stop.set()
            self.sampler.join()
            self.peak_mb = (max(self.peak, _resident_bytes()) - self.start) / 2**20
        return False


def _return_free_memory():
    """Hand the C allocator's free memory back to the system (glibc's malloc_trim), so that memory a block reuses
    shows as growth of the resident set rather than hiding in what earlier blocks freed."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def hardware(device: torch.device) -> str:
    where = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
    )
    return f"{where}; torch {torch.__version__}, python {platform.python_version()}"

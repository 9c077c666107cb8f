"""The processor a benchmark ran on, for the Hardware line of its table in results/."""

from __future__ import annotations

import platform
from pathlib import Path

import torch


def cpu_description() -> str:
    """The CPU model and the kernels torch chose for it, e.g. 'x86_64 Intel(R) Xeon(R) Processor, AVX512'."""
    model = platform.processor() or ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            model,
        )
    return f"{platform.machine()} {model}, {torch.backends.cpu.get_cpu_capability()}".replace("  ", " ")

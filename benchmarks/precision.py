"""What `fewshot-lab train --precision bf16` buys on this machine: one ProtoNet training step in each precision.

    python benchmarks/precision.py              # prints a markdown table, last line bf16_speedup: X

Times the engine's step (learner.training_loss, backward, Adam) on 20-way 1-shot 5-query omniglot-small
episodes (120 images, the ProtoNet recipe of results/protonet_3min_omniglot_small.md) and on 5-way 1-shot
15-query episodes (80 images), for conv4 and conv4-small, with the backbone in float32 and in bfloat16
(fewshot_lab.engine.compute_precision, as the engine runs it). Both start from the same weights on the same
episodes; the table also gives the largest difference between the two precisions' losses on the first episode.
The speedup depends on the processor: CPUs with bfloat16 matrix units (Intel AMX, AVX512-BF16) gain, others may
lose, so the engine's default stays float32. The last line is the geometric mean of the speedups.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import math
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hardware import cpu_description
from memory_format import fastest_seconds

from fewshot_lab.backbones import compute_precision, default_device
from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.methods import build_learner

EPISODES = [(20, 5), (5, 15)]  # (ways, queries per class), 1 shot


def bfloat16_units() -> str:
    """The CPU's bfloat16 instructions as /proc/cpuinfo names them ('none' if it lists none; '?' off Linux)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next(line for line in cpuinfo if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "?"
    return ", ".join(flag for flag in ("avx512_bf16", "amx_bf16") if flag in flags) or "none"


def step_seconds(learner, batches, precision: str, repeats: int) -> float:
    """The fastest of `repeats` timed steps after three untimed ones, cycling through `batches`."""
    optimizer = torch.optim.Adam(learner.parameters(), lr=1e-3)
    cycle = itertools.cycle(batches)

    def step():
        with compute_precision(learner, precision):
            loss, _ = learner.training_loss(next(cycle))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if learner.embedding[0][0].weight.device.type == "cuda":
            torch.cuda.synchronize()

    return fastest_seconds(step, repeats, untimed=3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per case (the fastest is reported)")
    arguments = parser.parse_args()
    device = default_device()
    print("# One ProtoNet training step: backbone in float32 against bfloat16\n")
    print(f"Command: `python benchmarks/precision.py --repeats {arguments.repeats}`  ")
    print(
        f"Hardware: {cpu_description()}, {os.cpu_count()} cores, bfloat16 units: {bfloat16_units()}; "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads, {device}\n"
    )
    print("| backbone | episode | images | float32 ms/step | bfloat16 ms/step | speedup | loss difference |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    dataset = load_dataset("omniglot-small")
    speedups = []
    for name in ("conv4", "conv4-small"):
        for ways, queries in EPISODES:
            sampler = make_sampler(dataset, "train", ways=ways, shots=1, queries=queries, seed=0)
            batches = [sampler.sample_batch(1).to(device) for _ in range(4)]
            torch.manual_seed(0)
            start = build_learner("protonet", backbone=name).to(device).train()
            losses = {}
            for precision in ("fp32", "bf16"):
                with torch.no_grad(), compute_precision(start, precision):
                    losses[precision] = start.training_loss(batches[0])[0].item()
            seconds = {
                precision: step_seconds(copy.deepcopy(start), batches, precision, arguments.repeats)
                for precision in ("fp32", "bf16")
            }
            speedups.append(seconds["fp32"] / seconds["bf16"])
            print(
                f"| {name} | {ways}-way 1-shot {queries}-query | {ways * (1 + queries)} | {seconds['fp32'] * 1e3:.1f} "
                f"| {seconds['bf16'] * 1e3:.1f} | {speedups[-1]:.2f} | {abs(losses['fp32'] - losses['bf16']):.1e} |",
                flush=True,
            )
    print("\nTimes are the fastest of the timed steps, after three untimed ones.\n")
    print(f"bf16_speedup: {math.exp(sum(map(math.log, speedups)) / len(speedups)):.2f}")


if __name__ == "__main__":
    main()

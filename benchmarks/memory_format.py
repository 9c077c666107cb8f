"""Why the conv backbones are built channels-last: one training step in each memory format.

    python benchmarks/memory_format.py              # prints a markdown table, last line channels_last_speedup: X

For conv4 and conv4-small on 28x28 images, and batches of the sizes the methods use (a 20-way 1-shot
5-query ProtoNet episode is 120 images; a 5-way 1-shot 15-query MAML query set is 80; its support set 5),
times one step (forward, backward, Adam) with the network in PyTorch's default (contiguous, NCHW) layout
and in channels-last (NHWC), from the same initial weights on the same images, and checks that the two
compute the same embedding to float rounding. The last line is the geometric mean of the speedups.

A second table times one MAML meta-iteration (torch.func, Conv-4, 5-way 1-shot 15-query glyphs tasks,
meta-batch 16, one inner step) in both layouts: the MAML family builds its network in the default layout
because of it.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import time

import torch

from fewshot_lab.backbones import make_backbone
from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.methods.maml import MAML

BATCHES = [120, 80, 5]


def fastest_seconds(step, repeats: int, untimed: int) -> float:
    """The fastest of `repeats` timed calls of step(), after `untimed` calls that warm it up."""
    for _ in range(untimed):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def step_seconds(network: torch.nn.Module, images: torch.Tensor, repeats: int) -> float:
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)

    def step():
        loss = network(images).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return fastest_seconds(step, repeats, untimed=3)


def meta_iteration_seconds(learner: MAML, batch, repeats: int) -> float:
    def step():
        learner.zero_grad(set_to_none=True)
        loss, _ = learner.training_loss(batch)
        loss.backward()

    return fastest_seconds(step, repeats, untimed=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per case (the fastest is reported)")
    arguments = parser.parse_args()
    print("# One training step of the conv backbones: default (NCHW) against channels-last memory format\n")
    print(f"Command: `python benchmarks/memory_format.py --repeats {arguments.repeats}`  ")
    print(
        f"Hardware: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads, cpu\n"
    )
    print("| backbone | images | NCHW ms/step | channels-last ms/step | speedup | max embedding difference |")
    print("| --- | --- | --- | --- | --- | --- |")
    speedups = []
    for name in ("conv4", "conv4-small"):
        for batch in BATCHES:
            torch.manual_seed(0)
            channels_last = make_backbone(name)
            contiguous = copy.deepcopy(channels_last).to(memory_format=torch.contiguous_format)
            images = torch.rand(batch, 1, 28, 28)
            difference = (channels_last(images) - contiguous(images)).abs().max().item()
            slow = step_seconds(contiguous, images, arguments.repeats)
            fast = step_seconds(channels_last, images, arguments.repeats)
            speedups.append(slow / fast)
            print(
                f"| {name} | {batch} | {slow * 1e3:.1f} | {fast * 1e3:.1f} | {slow / fast:.2f} | {difference:.1e} |",
                flush=True,
            )
    print("\nTimes are the fastest of the timed steps, after three untimed ones.\n")
    print("| MAML meta-iteration | NCHW s/it | channels-last s/it | channels-last against NCHW |")
    print("| --- | --- | --- | --- |")
    batch = make_sampler(load_dataset("glyphs"), "train", ways=5, shots=1, queries=15, seed=0).sample_batch(16)
    for first_order in (False, True):
        seconds = {}
        for layout in (torch.contiguous_format, torch.channels_last):
            torch.manual_seed(0)
            learner = MAML(make_backbone("conv4"), 64, first_order=first_order).train()
            learner.network.to(memory_format=layout)
            seconds[layout] = meta_iteration_seconds(learner, batch, max(3, arguments.repeats // 5))
        slow, fast = seconds[torch.contiguous_format], seconds[torch.channels_last]
        print(
            f"| 1 step, {'first' if first_order else 'second'} order | {slow:.3f} | {fast:.3f} | {slow / fast:.2f} |",
            flush=True,
        )
    print()
    print(f"channels_last_speedup: {math.exp(sum(map(math.log, speedups)) / len(speedups)):.2f}")


if __name__ == "__main__":
    main()

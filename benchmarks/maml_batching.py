"""Looping over the tasks of a meta-batch against batching them with torch.func.vmap, per model and device.

    python benchmarks/maml_batching.py > results/maml_batching.md

What MAML's task_batching="auto" decides is measured here: the time of one meta-iteration (forward and
meta-gradient) with the tasks looped over and with vmap over the tasks, for the sinusoid MLP (meta-batch
25, 10 shots, one inner step, second order) and for Conv-4 on 5-way 1-shot glyphs tasks (15 queries,
meta-batch 16, one inner step, first order: vmap is refused for second order through batch norm). Both
ways are timed alternately so that both see the same machine load; the fastest of the repeats is kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.methods import build_learner


def seconds_per_iteration(learner, batch, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        learner.zero_grad(set_to_none=True)
        if batch.support_x.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        learner.training_loss(batch)[0].backward()
        if batch.support_x.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    arguments = parser.parse_args()
    device = torch.device(arguments.device)
    cases = {
        "sinusoid MLP 1-40-40-1, meta-batch 25, second order": (
            dict(method="maml", backbone="mlp", in_channels=1, image_size=1, ways=1, inner_lr=0.01),
            load_dataset("sinusoid").sampler("train", shots=10, queries=10, seed=0).sample_batch(25),
        ),
        "Conv-4, 5-way 1-shot 15 queries, meta-batch 16, first order": (
            dict(method="fomaml", backbone="conv4", ways=5),
            make_sampler(load_dataset("glyphs"), "train", ways=5, shots=1, queries=15, seed=0).sample_batch(16),
        ),
    }
    print(f"Command: `python benchmarks/maml_batching.py --repeats {arguments.repeats}`  ")
    print(
        f"Hardware: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads, {device.type}  \n"
    )
    print("| model | loop ms/it | vmap ms/it | vmap / loop | auto picks |")
    print("| --- | --- | --- | --- | --- |")
    for name, (options, batch) in cases.items():
        batch = batch.to(device)
        learners = {}
        for mode in ("loop", "vmap", "auto"):
            torch.manual_seed(0)
            learners[mode] = build_learner(**options, task_batching=mode).to(device).train()
        times = {"loop": [], "vmap": []}
        for _ in range(arguments.repeats):
            for mode in times:
                times[mode].append(seconds_per_iteration(learners[mode], batch, 1))
        loop, vmap = min(times["loop"]), min(times["vmap"])
        picks = "vmap" if learners["auto"].uses_vmap(device) else "loop"
        print(f"| {name} | {1000 * loop:.1f} | {1000 * vmap:.1f} | {vmap / loop:.2f} | {picks} |", flush=True)


if __name__ == "__main__":
    main()

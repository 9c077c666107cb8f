"""An experiment for the MAML speed target: meta-batch tasks run in parallel threads, one CPU thread each.

    python benchmarks/maml_task_threads.py --iterations 5

On a 2-core CPU a Conv-4 meta-iteration of MAML keeps two threads only half busy: its convolutions are small
(28x28 glyphs, 5 to 80 images), so splitting each one across two threads gains little. This script times one
meta-iteration (forward + meta-gradient, glyphs 5-way 1-shot, 15 queries, meta-batch 16, inner lr 0.4) three ways:

- loop:     the tasks one after the other, as `MAML.training_loss` does, torch using every core;
- loop-1:   the same with one torch thread;
- threads:  the tasks shared among as many Python threads as cores, each running torch on one thread, each with
            its own replica of the network (torch.func.functional_call swaps a module's weights, so two threads
            cannot share one module); the replicas share the meta-parameters, and the per-task meta-gradients are
            summed in task order, so the result is the one-thread loop's, bit for bit.

It prints the fastest of the timed iterations of each and the largest gradient difference from the loop.
Not used by the package: see results/maml_vs_higher.md for what it measured and why it stays an experiment.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import torch
from maml_vs_higher import SETTINGS, _models, ours_meta_gradient

from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.engine import torch_threads


def loop(learner, batch, threads: int):
    with torch_threads(threads):
        ours_meta_gradient(learner, batch)


def task_threads(learner, batch, workers: int):
    tasks = len(batch.support_y)
    meta_parameters = [weight for weight in learner.parameters() if weight.requires_grad]
    shared = {id(tensor): tensor for tensor in [*learner.parameters(), *learner.buffers()]}
    local = threading.local()

    def one_task(index: int):
        if not hasattr(local, "replica"):  # a module per thread, sharing the meta-parameters
            local.replica = copy.deepcopy(learner, dict(shared))
        loss, _ = local.replica.query_loss(batch.select(index))
        return torch.autograd.grad(loss / tasks, meta_parameters, allow_unused=True)

    with torch_threads(1), ThreadPoolExecutor(workers) as pool:
        per_task = list(pool.map(one_task, range(tasks)))
    for index, weight in enumerate(meta_parameters):
        parts = [gradients[index] for gradients in per_task if gradients[index] is not None]
        weight.grad = sum(parts[1:], parts[0].clone()) if parts else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5, help="timed meta-iterations per way (after one untimed)")
    parser.add_argument("--meta-batch", type=int, default=16)
    arguments = parser.parse_args()
    cores = torch.get_num_threads()
    batch = make_sampler(load_dataset("glyphs"), "train", ways=5, shots=1, queries=15, seed=0).sample_batch(
        arguments.meta_batch
    )
    print(f"Command: `python benchmarks/maml_task_threads.py --iterations {arguments.iterations}`  ")
    print(
        f"Hardware: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} with {cores} threads, "
        f"python {platform.python_version()}, CPU\n"
    )
    print(
        "| inner steps | order | loop s/it | loop-1 s/it | threads s/it | threads against loop | "
        "max gradient difference from loop-1 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    ways = {
        "loop": lambda learner: loop(learner, batch, cores),
        "loop-1": lambda learner: loop(learner, batch, 1),
        "threads": lambda learner: task_threads(learner, batch, cores),
    }
    for inner_steps, first_order in SETTINGS:
        best, grads = {}, {}
        for name, run in ways.items():
            learner, _ = _models(inner_steps, first_order, torch.device("cpu"))
            times = []
            for _ in range(arguments.iterations + 1):
                learner.zero_grad()
                start = time.perf_counter()
                run(learner)
                times.append(time.perf_counter() - start)
            best[name] = min(times[1:])
            grads[name] = torch.cat([weight.grad.flatten() for weight in learner.parameters()])
        difference = (grads["threads"] - grads["loop-1"]).abs().max().item()
        print(
            f"| {inner_steps} | {'first' if first_order else 'second'} | {best['loop']:.3f} | {best['loop-1']:.3f} | "
            f"{best['threads']:.3f} | {best['loop'] / best['threads']:.2f} | {difference:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

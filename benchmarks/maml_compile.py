"""An experiment for the MAML speed target: the meta-gradient compiled by torch.compile (TorchInductor).

    python benchmarks/maml_compile.py --iterations 3

The package's MAML takes its meta-gradient with torch.autograd.grad(create_graph=True), which torch.compile cannot
capture (it does not compile double backward). Written with torch.func instead, one task's meta-gradient is a pure
function, grad(query loss after the inner loop), and torch.compile turns all of it, forward, inner gradient and the
second-order backward, into one graph in which Inductor fuses batch norm, ReLU and max-pooling around the
convolutions. This script times one meta-iteration (forward + meta-gradient, glyphs 5-way 1-shot, 15 queries,
meta-batch 16, inner lr 0.4, batch statistics in batch norm, float32) both ways in each of the settings of
benchmarks/maml_vs_higher.py: the package's eager loop (`MAML.training_loss`) and the compiled function, task by
task. It prints the time the first compilation takes (a fresh Inductor cache, as on a user's first run), the fastest
of the timed iterations of each, and the largest difference between the two meta-gradients relative to the largest
component.
Not used by the package: see results/maml_vs_higher.md for what it measured and why it stays an experiment.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
from hardware import cpu_description
from maml_vs_higher import SETTINGS, _models, gradients, ours_meta_gradient
from torch.func import grad

from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.learner import task_loss


def compiled_meta_gradient(learner, inner_steps: int, first_order: bool):
    """parameters, buffers, support_x, support_y, query_x, query_y -> one task's meta-gradient, as a compiled
    function. Batch norm's running statistics (the buffers) come in as an argument: torch.compile refuses to update the
    network's own buffers in place inside torch.func.grad."""
    network, alpha = learner.functional, learner.inner_lr

    def support_loss(parameters, buffers, support_x, support_y):
        return task_loss(network(parameters, support_x, buffers), support_y)

    def query_loss(parameters, buffers, support_x, support_y, query_x, query_y):
        for _ in range(inner_steps):
            step = grad(support_loss)(parameters, buffers, support_x, support_y)
            if first_order:
                step = {name: gradient.detach() for name, gradient in step.items()}
            parameters = {name: weight - alpha * step[name] for name, weight in parameters.items()}
        return task_loss(network(parameters, query_x, buffers), query_y)

    return torch.compile(grad(query_loss))


def compiled_meta_iteration(meta_gradient, learner, batch):
    """Sum the tasks' meta-gradients over the meta-batch into the learner's .grad (the mean, as the package's)."""
    parameters = {name: weight.detach() for name, weight in learner.network.named_parameters()}
    buffers = dict(learner.network.named_buffers())
    tasks = len(batch.support_y)
    total = dict.fromkeys(parameters, 0)
    for index in range(tasks):
        task = batch.select(index)
        for name, gradient in meta_gradient(
            parameters, buffers, task.support_x, task.support_y, task.query_x, task.query_y
        ).items():
            total[name] = total[name] + gradient / tasks
    for name, weight in learner.network.named_parameters():
        weight.grad = total[name]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3, help="timed meta-iterations per setting and way")
    parser.add_argument("--meta-batch", type=int, default=16)
    arguments = parser.parse_args()
    if arguments.iterations < 1 or arguments.meta_batch < 1:
        parser.error("--iterations and --meta-batch must be at least 1")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-")  # the first compilation, timed
    batch = make_sampler(load_dataset("glyphs"), "train", ways=5, shots=1, queries=15, seed=0).sample_batch(
        arguments.meta_batch
    )
    print("# MAML's meta-gradient: the package's eager loop against torch.compile\n")
    print(f"Command: `python benchmarks/maml_compile.py --iterations {arguments.iterations}`  ")
    print(
        f"Hardware: {cpu_description()}, {os.cpu_count()} cores, torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads  "
    )
    print(
        f"Problem: Conv-4 (64 channels) + 5-way head, glyphs 5-way 1-shot, 15 queries, meta-batch "
        f"{arguments.meta_batch}, inner lr 0.4, batch statistics in batch norm, float32; fastest of "
        f"{arguments.iterations} timed meta-iterations after one untimed.\n"
    )
    print("| inner steps | order | first compilation s | eager s/it | compiled s/it | speedup | relative difference |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for inner_steps, first_order in SETTINGS:
        learner, _ = _models(inner_steps, first_order, torch.device("cpu"))
        meta_gradient = compiled_meta_gradient(learner, inner_steps, first_order)
        start = time.perf_counter()
        compiled_meta_iteration(meta_gradient, learner, batch)
        compilation = time.perf_counter() - start
        compiled = gradients(learner).clone()
        learner.zero_grad(set_to_none=True)
        ours_meta_gradient(learner, batch)
        eager = gradients(learner)
        difference = ((compiled - eager).abs().max() / eager.abs().max()).item()
        times = {"eager": [], "compiled": []}
        for _ in range(arguments.iterations):
            for name in times:
                learner.zero_grad(set_to_none=True)
                start = time.perf_counter()
                if name == "eager":
                    ours_meta_gradient(learner, batch)
                else:
                    compiled_meta_iteration(meta_gradient, learner, batch)
                times[name].append(time.perf_counter() - start)
        eager_time, compiled_time = min(times["eager"]), min(times["compiled"])
        print(
            f"| {inner_steps} | {'first' if first_order else 'second'} | {compilation:.0f} | {eager_time:.2f} | "
            f"{compiled_time:.2f} | {eager_time / compiled_time:.2f} | {difference:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

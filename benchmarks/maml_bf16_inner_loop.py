"""MAML meta-trained in bfloat16: the inner loop in float32 (as the package has it) or in bfloat16 too.

    python benchmarks/maml_bf16_inner_loop.py --streams 3 --budget 100 --episodes 300

Where meta-training runs the network in bfloat16, the package keeps MAML's inner loop in float32 and lowers only the
query pass at the adapted weights (fewshot_lab.methods.maml, Precision). This script measures that choice against
the whole meta-iteration in bfloat16, its inner loop included (the package before commit c012c6a), and against
float32, in two ways:

- the meta-gradient of one meta-batch (glyphs 5-way 1-shot, 15 queries, 16 tasks, Conv-4, inner lr 0.4) in each
  setting of benchmarks/maml_vs_higher.py: its cosine to float32's;
- the accuracy after a fixed budget of meta-iterations: MAML (1 inner step of 0.4, second order, meta-batches of 4
  tasks, Adam lr 1e-3, the same initial weights) meta-trained in each precision on `--streams` streams of
  meta-batches, then adapted in float32 on the same val tasks; the difference from float32 is paired by stream, and
  its interval is over the streams (a t interval), which is the training-to-training spread the val tasks' interval
  leaves out.

It runs bfloat16 whatever the CPU: numerics only, no timing. A CPU without bfloat16 units computes it far more
slowly through conversions (about 7 times slower than float32 on an AVX2 CPU), with the same bfloat16 roundings of
inputs and float32 sums; the speed is measured by benchmarks/maml_vs_higher.py on a CPU with the units.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import time

import torch
from maml_vs_higher import SETTINGS, _models, check_counts, gradients, mean_and_t_interval
from torch import nn

from fewshot_lab.backbones import compute_precision
from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.evaluation import evaluate

ARMS = {  # name -> (precision of meta-training, inner loop in bfloat16 too)
    "float32": ("fp32", False),
    "bfloat16, inner loop in float32 (the package)": ("bf16", False),
    "bfloat16, inner loop in bfloat16 too": ("bf16", True),
}


@contextlib.contextmanager
def inner_loop_lowered(learner, lowered: bool):
    """With lowered=True, the learner's inner loop runs in bfloat16 as the rest of the meta-iteration does."""
    if not lowered:
        yield
        return
    inner_loop = learner.inner_loop

    def in_bfloat16(*args, **kwargs):
        with compute_precision(learner.network, "bf16"):
            return inner_loop(*args, **kwargs)

    learner.inner_loop = in_bfloat16
    try:
        yield
    finally:
        del learner.inner_loop


def meta_gradient(learner, batch, arm: str) -> torch.Tensor:
    precision, lowered = ARMS[arm]
    learner.zero_grad(set_to_none=True)
    with compute_precision(learner, precision), inner_loop_lowered(learner, lowered):
        loss, _ = learner.training_loss(batch)
        loss.backward()
    return gradients(learner)


def accuracy_after_budget(dataset, arm: str, stream: int, budget: int, episodes: int):
    """Meta-train MAML (1 inner step, second order) in `arm` for `budget` meta-iterations of 4 tasks on the stream of
    meta-batches seeded `stream`; score it on `episodes` val tasks (the same for every arm and stream)."""
    learner, _ = _models(1, False, torch.device("cpu"))
    optimizer = torch.optim.Adam(learner.parameters())
    sampler = make_sampler(dataset, "train", ways=5, shots=1, queries=15, seed=stream)
    for _ in range(budget):
        batch = sampler.sample_batch(4)
        meta_gradient(learner, batch, arm)
        optimizer.step()
    return evaluate(learner, dataset, ways=5, shots=1, queries=15, episodes=episodes, split="val")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=3, help="streams of meta-batches (training runs per precision)")
    parser.add_argument("--budget", type=int, default=100, help="meta-iterations (of 4 tasks) of each training run")
    parser.add_argument("--episodes", type=int, default=300, help="val tasks scoring each trained model")
    arguments = parser.parse_args()
    check_counts(parser, arguments, ("streams", "budget", "episodes"))
    started = time.strftime("%Y-%m-%d")
    dataset = load_dataset("glyphs")
    print("# MAML in bfloat16: the inner loop in float32 or in bfloat16\n")
    print(
        f"Command: `python benchmarks/maml_bf16_inner_loop.py --streams {arguments.streams} --budget "
        f"{arguments.budget} --episodes {arguments.episodes}`  "
    )
    print(
        f"Hardware: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads, cpu ({torch.backends.cpu.get_cpu_capability()} kernels); {started}\n"
    )
    batch = make_sampler(dataset, "train", ways=5, shots=1, queries=15, seed=0).sample_batch(16)
    print("Cosine of the meta-gradient of one meta-batch (16 glyphs tasks, 5-way 1-shot, 15 queries) to float32's:\n")
    lowered_arms = [arm for arm in ARMS if arm != "float32"]
    print(f"| inner steps | order | {' | '.join(lowered_arms)} |\n| --- | --- | --- | --- |")
    for inner_steps, first_order in SETTINGS:
        learner, _ = _models(inner_steps, first_order, torch.device("cpu"))
        in_float32 = meta_gradient(learner, batch, "float32").clone()
        cosines = [
            nn.functional.cosine_similarity(meta_gradient(learner, batch, arm), in_float32, dim=0).item()
            for arm in lowered_arms
        ]
        print(
            f"| {inner_steps} | {'first' if first_order else 'second'} | "
            f"{' | '.join(f'{cosine:.4f}' for cosine in cosines)} |",
            flush=True,
        )
    print(
        f"\nAccuracy after {arguments.budget} meta-iterations (1 inner step of 0.4, second order, meta-batches of 4 "
        f"tasks, Adam lr 1e-3, the same initial weights), on {arguments.episodes} val tasks of glyphs (5-way 1-shot, "
        f"15 queries), for each stream of meta-batches:\n"
    )
    accuracy = {arm: [] for arm in ARMS}
    print(f"| meta-batch stream | {' | '.join(ARMS)} |\n| --- | --- | --- | --- |")
    for stream in range(1, arguments.streams + 1):
        for arm in ARMS:
            result = accuracy_after_budget(dataset, arm, stream, arguments.budget, arguments.episodes)
            accuracy[arm].append(100 * result.mean)
        print(f"| {stream} | {' | '.join(f'{accuracy[arm][-1]:.2f}%' for arm in ARMS)} |", flush=True)
    print("\n| precision | mean accuracy | difference from float32, paired by stream (95% t interval) |")
    print("| --- | --- | --- |")
    for arm in ARMS:
        differences = [ours - theirs for ours, theirs in zip(accuracy[arm], accuracy["float32"])]
        print(f"| {arm} | {statistics.mean(accuracy[arm]):.2f}% | {mean_and_t_interval(differences)} |")


if __name__ == "__main__":
    main()

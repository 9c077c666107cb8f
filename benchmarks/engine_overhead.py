"""What the meta-training engine costs on top of the model's own work.

    python benchmarks/engine_overhead.py [--steps 60] [--dataset glyphs]

A Prototypical Network step of the engine (task sampling, loss, backward, Adam, bookkeeping) is timed
against a bare loop of the same Conv-4 forward and backward on the same tasks drawn beforehand.
Both run the same number of steps, alternately, three times; the medians are compared. The last
line is the overhead in percent.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.engine import meta_train
from fewshot_lab.methods import build_learner


def bare_loop(learner, tasks) -> float:
    """Seconds per step of the model's work alone: forward, loss, backward, Adam."""
    optimizer = torch.optim.Adam(learner.parameters(), lr=1e-3)
    learner.train()
    start = time.perf_counter()
    for task in tasks:
        loss = learner.query_loss(task)[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / len(tasks)


def engine_loop(learner, dataset, steps: int, settings: dict) -> float:
    history = meta_train(
        learner, dataset, steps=steps, val_every=10 * steps, val_episodes=1, progress=False, **settings
    )
    return history.seconds / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--dataset", default="glyphs")
    arguments = parser.parse_args()
    dataset = load_dataset(arguments.dataset)
    settings = dict(ways=20, shots=1, queries=5, seed=0)
    tasks = list(make_sampler(dataset, "train", **settings).take(arguments.steps))
    print(
        f"# ProtoNet, Conv-4, {settings['ways']}-way {settings['shots']}-shot {settings['queries']}-query, "
        f"{arguments.steps} steps per run, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    bare, engine = [], []
    for _ in range(3):
        torch.manual_seed(0)
        bare.append(bare_loop(build_learner("protonet"), tasks))
        torch.manual_seed(0)
        engine.append(engine_loop(build_learner("protonet"), dataset, arguments.steps, settings))
    bare_ms, engine_ms = 1000 * statistics.median(bare), 1000 * statistics.median(engine)
    print(f"bare loop: {bare_ms:.1f} ms/step; engine: {engine_ms:.1f} ms/step")
    print(f"overhead: {100 * (engine_ms - bare_ms) / bare_ms:.1f}%")


if __name__ == "__main__":
    main()

"""Task-sampling throughput and first-use time of each dataset.

    python benchmarks/sampling.py            # prints one line per measurement

First use is timed in a fresh, empty cache folder: generation for glyphs; download, checksum,
decoding and caching for omniglot-small (from $FEWSHOT_LAB_MIRROR, or from ../shared/data/omniglot
as a file:// mirror when that folder is beside the checkout). The full Omniglot archives are
measured only where a mirror or the network provides them.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time

import torch
from shared_data import use_shared_omniglot

from fewshot_lab.data import load_dataset, make_sampler

SHAPES = [(5, 1, 15), (20, 5, 15)]


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def tasks_per_second(dataset, ways, shots, queries, seconds=3.0) -> float:
    sampler = make_sampler(dataset, "train", ways=ways, shots=shots, queries=queries, seed=0)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        sampler.sample()
        count += 1
    return count / (time.perf_counter() - start)


def main():
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, python {sys.version.split()[0]}"
    )
    mirror = use_shared_omniglot()
    if mirror:
        print(f"# omniglot archives from {mirror}")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["FEWSHOT_LAB_DATA"] = cache
        for name in ("glyphs", "omniglot-small", "omniglot"):
            try:
                dataset, first = timed(lambda name=name: load_dataset(name))
            except Exception as error:  # the full archives are not on every mirror
                print(f"{name}: first use unavailable here ({type(error).__name__}: {str(error).splitlines()[0]})")
                continue
            _, cached = timed(lambda name=name: load_dataset(name))
            print(f"{name}: first use {first:.1f} s, from cache {cached:.2f} s ({dataset.summary()})")
            for ways, shots, queries in SHAPES:
                rate = tasks_per_second(dataset, ways, shots, queries)
                print(f"{name}: {ways}-way {shots}-shot {queries}-query sampling {rate:,.0f} tasks/s")
    family = load_dataset("sinusoid")
    sampler = family.sampler("train", shots=10, queries=10)
    _, seconds = timed(lambda: [sampler.sample() for _ in range(10_000)])
    print(f"sinusoid: 10-shot 10-query sampling {10_000 / seconds:,.0f} tasks/s")


if __name__ == "__main__":
    main()

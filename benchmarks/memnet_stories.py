"""Answer accuracy of end-to-end memory networks with 1 and 3 hops on the generated stories of bAbI-style tasks 1 and 2
(results/memnet_stories.md), with the attention figure of the lesson.

    OMP_NUM_THREADS=1 python benchmarks/memnet_stories.py --runs runs/memnet > results/memnet_stories.md

Each of the four runs is trained by the fewshot-lab command printed in the table's notes (a few minutes each on one
core), into --runs (a run there already is replaced), then scored on the same seeded test stories. The attention of
the 3-hop network of task 2 over one test story goes beside the table (results/memnet_attention.png).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matplotlib

matplotlib.use("Agg")
from hardware import cpu_description

from fewshot_lab.cli import main as fewshot_lab
from fewshot_lab.data import load_dataset
from fewshot_lab.evaluation import evaluate
from fewshot_lab.lessons.s76 import plot_story_attention
from fewshot_lab.saved import load

RESULTS = Path(__file__).resolve().parents[1] / "results"
SHOTS, QUERIES = 12, 3  # sentences per story, questions per story
TRAINING = (
    "train --method memnet --dataset {task} --hops {hops} --shots {shots} --queries {queries} --meta-batch 32 "
    "--steps 4000 --linear-start {linear_start} --lr 1e-2 --val-every 500 --val-episodes 200 --replace --out {out}"
)
RUNS = [(task, hops, 1000) for task in ("babi-1", "babi-2") for hops in (1, 3)] + [("babi-2", 3, 0)]  # linear start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/memnet", help="folder for the four run folders (default runs/memnet)")
    parser.add_argument("--episodes", type=int, default=1000, help="test stories per run (default 1000)")
    arguments = parser.parse_args(argv)
    rows, commands = [], []
    for task, hops, linear_start in RUNS:
        stories = load_dataset(task)
        out = Path(arguments.runs) / f"{task}_{hops}hop{'' if linear_start else '_softmax_from_start'}"
        command = TRAINING.format(
            task=task, hops=hops, shots=SHOTS, queries=QUERIES, linear_start=linear_start, out=out
        )
        commands.append(f"fewshot-lab {command}")
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            if fewshot_lab(command.split()) != 0:
                raise RuntimeError(f"fewshot-lab {command} failed")
        seconds = time.perf_counter() - started
        learner = load(out, device="cpu").learner
        result = evaluate(learner, stories, shots=SHOTS, queries=QUERIES, episodes=arguments.episodes)
        rows.append((task, hops, linear_start, result, seconds))
        if (task, hops, linear_start) == ("babi-2", 3, 1000):
            figure = plot_story_attention(learner, stories, stories.sampler("test", SHOTS, QUERIES).sample())
            figure.savefig(RESULTS / "memnet_attention.png", dpi=100)
    first = rows[0][3]
    print("# End-to-end memory networks on generated bAbI-style stories\n")
    print(
        f"Command: `OMP_NUM_THREADS=1 python benchmarks/memnet_stories.py --runs {arguments.runs}"
        f"{'' if arguments.episodes == 1000 else f' --episodes {arguments.episodes}'} > results/memnet_stories.md`  "
    )
    print(f"Hardware: {cpu_description()}, {os.cpu_count()} cores; date {datetime.date.today()}\n")
    print(
        f"Answer accuracy (mean ± 95% CI over stories) on {first.episodes} seeded {first.split} stories of {SHOTS} "
        f"sentences with {QUERIES} questions each (seed {first.seed}; the same stories for every network of a "
        f"task). Chance is one place in six, 16.7%.\n"
    )
    print("| task | hops | linear start | accuracy | training time |")
    print("| --- | --- | --- | --- | --- |")
    for task, hops, linear_start, result, seconds in rows:
        start = f"{linear_start} steps" if linear_start else "none (softmax from the start)"
        print(f"| {task} | {hops} | {start} | {100 * result.mean:.1f}% ± {100 * result.ci95:.1f}% | {seconds:.0f} s |")
    print("\nEach run was trained (best checkpoint by meta-validation accuracy on 200 val stories, every 500 steps) by")
    print("\n" + "\n".join(f"    {command}" for command in commands))
    print("\nFigure: `memnet_attention.png`, the attention of the 3-hop network of babi-2 over one test story.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The drawing-pad demo's learners (notebooks/teach_it.ipynb), measured: on omniglot-small's meta-test alphabets and on
drawings of five symbols made for the pad.

    python benchmarks/demo_learners.py --write-drawings     # (re)make tests/data/pad_drawings.json
    python benchmarks/demo_learners.py [--episodes 600]     # the markdown table of results/demo_learners.md

The drawings: no person drew them. A seeded hand in code draws each symbol (circle, cross, wave, triangle, spiral)
eight times as strokes in the pad's [0, 1] coordinates, each at its own size, place, slant and aspect, with a slow
wobble along the pen's path and a start anywhere on the shape; the pad turns strokes into pictures as it does in the
browser (fewshot_lab.pad.strokes_to_image). Tasks from them: the five symbols as classes, the first K drawings of each
the support set and the other 8 - K the queries.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from hardware import cpu_description
from shared_data import use_shared_omniglot

from fewshot_lab.data import load_dataset
from fewshot_lab.evaluation import evaluate
from fewshot_lab.lessons.teach import LEARNERS, demo_learner
from fewshot_lab.pad import strokes_to_image

DRAWINGS = Path(__file__).resolve().parents[1] / "tests" / "data" / "pad_drawings.json"
SYMBOLS = ("circle", "cross", "wave", "triangle", "spiral")
PER_SYMBOL = 8


def template(symbol: str, rng: np.random.Generator) -> list[np.ndarray]:
    """The symbol's strokes in [-1, 1]², each [points, 2], in the order a hand draws them."""
    t = np.linspace(0, 1, 40)
    if symbol == "circle":
        start = rng.uniform(0, math.tau)
        angle = start + math.tau * rng.uniform(1.0, 1.08) * t
        return [np.stack([np.cos(angle), np.sin(angle)], 1)]
    if symbol == "cross":
        strokes = [np.stack([-1 + 2 * t, -1 + 2 * t], 1), np.stack([1 - 2 * t, -1 + 2 * t], 1)]
        return strokes if rng.random() < 0.5 else strokes[::-1]
    if symbol == "wave":
        return [np.stack([-1 + 2 * t, 0.6 * np.sin(3 * math.pi * t)], 1)]
    if symbol == "triangle":
        corners = np.array([[0, -1], [0.9, 0.8], [-0.9, 0.8], [0, -1]]) + rng.normal(0, 0.05, (4, 2))
        return [np.concatenate([np.linspace(a, b, 14)[:-1] for a, b in itertools.pairwise(corners)] + [corners[-1:]])]
    if symbol == "spiral":
        angle = math.tau * 2 * t
        return [np.stack([t * np.cos(angle), t * np.sin(angle)], 1)]
    raise ValueError(f"no symbol {symbol!r}: choose one of {', '.join(SYMBOLS)}")


def hand_drawn(symbol: str, rng: np.random.Generator) -> list[list[list[float]]]:
    """One drawing of `symbol`: its template placed, sized, slanted and wobbled as one hand might."""
    size = rng.uniform(0.2, 0.35)
    centre = 0.5 + rng.uniform(-0.08, 0.08, 2)
    slant = rng.normal(0, math.radians(10))
    rotation = np.array([[math.cos(slant), -math.sin(slant)], [math.sin(slant), math.cos(slant)]])
    aspect = np.array([rng.uniform(0.85, 1.15), 1.0])
    strokes = []
    for stroke in template(symbol, rng):
        s = np.linspace(0, 1, len(stroke))[:, None]
        wobble = sum(rng.normal(0, 0.04) * np.sin(math.tau * (k * s + rng.random())) for k in (1, 2, 3))  # [points, 1]
        points = (stroke * aspect + wobble * rng.normal(0, 1, 2)) @ rotation.T * size + centre  # [points, 2]
        strokes.append(np.clip(points, 0, 1).round(4).tolist())
    return strokes


def write_drawings(seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    drawings = {symbol: [hand_drawn(symbol, rng) for _ in range(PER_SYMBOL)] for symbol in SYMBOLS}
    record = {"made_by": f"benchmarks/demo_learners.py --write-drawings (seed {seed})", "drawings": drawings}
    DRAWINGS.parent.mkdir(exist_ok=True)
    DRAWINGS.write_text(json.dumps(record) + "\n")
    print(f"wrote {DRAWINGS}: {len(SYMBOLS)} symbols x {PER_SYMBOL} drawings")


def pad_accuracy(saved, shots: int) -> tuple[float, int, float]:
    """(accuracy, queries, seconds) on the stored drawings with the first `shots` of each symbol as the support."""
    drawings = json.loads(DRAWINGS.read_text())["drawings"]
    support, labels, queries, truth = [], [], [], []
    for symbol, examples in drawings.items():
        images = [strokes_to_image(strokes) for strokes in examples]
        support, labels = support + images[:shots], labels + [symbol] * shots
        queries, truth = queries + images[shots:], truth + [symbol] * (len(images) - shots)
    start = time.perf_counter()
    with torch.no_grad():
        predicted = saved.predict(support, labels, queries)
    seconds = time.perf_counter() - start
    return sum(p == t for p, t in zip(predicted, truth)) / len(truth), len(truth), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-drawings", action="store_true", help="make tests/data/pad_drawings.json and stop")
    parser.add_argument("--episodes", type=int, default=600, help="meta-test tasks (default 600)")
    arguments = parser.parse_args()
    if arguments.write_drawings:
        write_drawings()
        return
    use_shared_omniglot()
    omniglot = load_dataset("omniglot-small")
    print(f"{cpu_description()}, {torch.get_num_threads()} torch threads; torch {torch.__version__}")
    print(
        f"| learner | shipped model | omniglot-small meta-test, 5-way 1-shot, {arguments.episodes} tasks | "
        "pad drawings, 1 shot (35 queries) | pad drawings, 3 shots (25 queries) | adapting + answering, 3 shots |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for menu, (shipped, _) in LEARNERS.items():
        saved = demo_learner(menu)
        test = evaluate(
            saved.learner, omniglot, ways=5, shots=1, queries=15, episodes=arguments.episodes, split="test", seed=0
        )
        one, _, _ = pad_accuracy(saved, 1)
        three, _, seconds = pad_accuracy(saved, 3)
        print(
            f"| {menu} | {shipped} | {100 * test.mean:.1f}% ± {100 * test.ci95:.1f} | {100 * one:.0f}% | "
            f"{100 * three:.0f}% | {1000 * seconds:.0f} ms |"
        )


if __name__ == "__main__":
    main()

"""How hard is each dataset? Nearest neighbour on raw pixels, the floor every learned method must beat.

    python benchmarks/pixel_baseline.py [--episodes 600]

Scores 1-NN in pixel space on the meta-test split of glyphs and omniglot-small: 5-way and 20-way,
1-shot and 5-shot, 15 queries, tasks mixing alphabets and (5-way) tasks within one alphabet.
omniglot-small comes from $FEWSHOT_LAB_MIRROR, or from ../shared/data/omniglot when that is beside the checkout.
"""

from __future__ import annotations

import argparse

from shared_data import use_shared_omniglot

from fewshot_lab.data import load_dataset
from fewshot_lab.evaluation import evaluate
from fewshot_lab.methods.nearest import NearestNeighbour

SETTINGS = [(5, 1, False), (5, 5, False), (20, 1, False), (20, 5, False), (5, 1, True), (5, 5, True)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=600)
    arguments = parser.parse_args()
    use_shared_omniglot()
    print("| dataset | task | pixel 1-NN accuracy (95% CI) |")
    print("| --- | --- | --- |")
    for name in ("glyphs", "omniglot-small"):
        dataset = load_dataset(name)
        for ways, shots, within in SETTINGS:
            result = evaluate(
                NearestNeighbour(),
                dataset,
                ways=ways,
                shots=shots,
                queries=15,
                episodes=arguments.episodes,
                within_alphabet=within,
            )
            kind = "within one alphabet" if within else "alphabets mixed"
            print(f"| {name} | {ways}-way {shots}-shot, {kind} | {100 * result.mean:.1f}% ± {100 * result.ci95:.1f} |")


if __name__ == "__main__":
    main()

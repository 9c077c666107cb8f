"""Accuracy by instance presentation (Santoro et al. 2016's table) for saved MANN and LSTM runs.

Train the runs with the CLI, e.g. (omniglot-small needs ../shared/data/omniglot or a download):

    OMP_NUM_THREADS=1 fewshot-lab train --method mann --dataset omniglot-small --ways 5 --meta-batch 16 \
        --steps 1500 --lr 3e-3 --val-every 500 --val-episodes 100 --out runs/mann_omniglot5
    OMP_NUM_THREADS=1 fewshot-lab train --method lstm ...same... --out runs/lstm_omniglot5

then print the markdown table of their test episodes:

    OMP_NUM_THREADS=1 python benchmarks/mann_table.py runs/mann_omniglot5 runs/lstm_omniglot5 --episodes 1000

--bound adds, under each run, what a perfect memory of its image code would score on the same episodes
(fewshot_lab.evaluation.recall_bound_by_presentation).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shared_data import use_shared_omniglot

from fewshot_lab.data import load_dataset
from fewshot_lab.evaluation import accuracy_by_presentation, recall_bound_by_presentation
from fewshot_lab.saved import load


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders written by fewshot-lab train --method mann/lstm")
    parser.add_argument("--episodes", type=int, default=1000, help="test episodes (default 1000)")
    parser.add_argument("--instances", type=int, default=10, help="drawings of each class per episode (default 10)")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--bound", action="store_true", help="add the recall bound of each run's image code")
    arguments = parser.parse_args(argv)
    use_shared_omniglot()
    header = None
    for run in arguments.runs:
        saved = load(run, device="cpu")
        dataset = load_dataset(saved.dataset["name"])
        result = accuracy_by_presentation(
            saved.learner, dataset, instances=arguments.instances, episodes=arguments.episodes, split=arguments.split
        )
        if header is None:
            numbers = " | ".join(str(k) for k in range(1, arguments.instances + 1))
            header = f"| run | method | classes | {numbers} | 95% CI at most |"
            print(f"{result.protocol.split(', seed')[0]}\n\n{header}\n|" + " --- |" * (arguments.instances + 4))
        history = saved.training["history"] if saved.training else {}
        print(row(f"{Path(run).name} (step {history.get('best_step', '?')})", saved.learner.method, result))
        if arguments.bound:
            bound = recall_bound_by_presentation(
                saved.learner,
                dataset,
                instances=arguments.instances,
                episodes=arguments.episodes,
                split=arguments.split,
            )
            print(row(f"{Path(run).name}: its code, perfectly recalled", "recall bound", bound))
    return 0


def row(name: str, method: str, result) -> str:
    cells = " | ".join(f"{100 * value:.1f}" for value in result.mean)
    return f"| {name} | {method} | {result.ways} | {cells} | ±{100 * result.ci95.max():.1f} |"


if __name__ == "__main__":
    sys.exit(main())

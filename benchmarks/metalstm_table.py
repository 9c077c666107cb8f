"""Meta-LSTM few-shot accuracy on glyphs and omniglot-small: train through the CLI, evaluate on 600 test tasks.

    python benchmarks/metalstm_table.py run --dataset glyphs --shots 1 --steps 2000 --json runs/metalstm_glyphs_1.json
    python benchmarks/metalstm_table.py table runs/metalstm_*.json > results/metalstm.md

`run` calls `fewshot-lab train --method metalstm ...` (5-way, 15 queries, the CLI's default augmentation),
then evaluates the best checkpoint on 600 seeded 5-way tasks of the test split with a 95% CI, and writes
what it did (commands, accuracy, wall time, hardware) as JSON. `table` turns such files into a markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run(arguments) -> int:
    from shared_data import use_shared_omniglot

    from fewshot_lab.cli import main as cli
    from fewshot_lab.data import load_dataset
    from fewshot_lab.evaluation import evaluate
    from fewshot_lab.saved import load

    use_shared_omniglot()
    out = Path(arguments.out or f"runs/metalstm_{arguments.dataset}_{arguments.shots}shot")
    train = [
        "train",
        "--method",
        "metalstm",
        "--dataset",
        arguments.dataset,
        "--backbone",
        arguments.backbone,
        "--ways",
        "5",
        "--shots",
        str(arguments.shots),
        "--queries",
        "15",
        "--inner-steps",
        str(arguments.inner_steps),
        "--steps",
        str(arguments.steps),
        "--lr",
        str(arguments.lr),
        "--meta-batch",
        str(arguments.meta_batch),
        "--val-every",
        str(max(1, arguments.steps // 5)),
        "--val-episodes",
        "100",
        "--out",
        str(out),
    ]
    if arguments.device:
        train += ["--device", arguments.device]
    started = time.perf_counter()
    if cli(train) != 0:
        return 1
    training_seconds = time.perf_counter() - started
    saved = load(out, device=arguments.device)
    result = evaluate(
        saved.learner,
        load_dataset(arguments.dataset),
        ways=5,
        shots=arguments.shots,
        queries=15,
        episodes=600,
        split="test",
        seed=0,
    )
    history = torch.load(out / "last.pt", map_location="cpu", weights_only=False)["training"]["history"]
    record = {
        "dataset": arguments.dataset,
        "shots": arguments.shots,
        "backbone": arguments.backbone,
        "inner_steps": arguments.inner_steps,
        "steps": arguments.steps,
        "meta_batch": arguments.meta_batch,
        "lr": arguments.lr,
        "command": "fewshot-lab " + " ".join(train),
        "evaluate": f"evaluate(learner, {arguments.dataset}, ways=5, shots={arguments.shots}, queries=15, "
        f"episodes=600, split='test', seed=0)",
        "accuracy": result.mean,
        "ci95": result.ci95,
        "protocol": result.protocol,
        "best_val_accuracy": history["best_val_accuracy"],
        "best_step": history["best_step"],
        "training_seconds": training_seconds,
        "total_seconds": time.perf_counter() - started,
        "device": torch.cuda.get_device_name() if arguments.device == "cuda" else "CPU",
        "torch": torch.__version__,
    }
    Path(arguments.json).parent.mkdir(parents=True, exist_ok=True)
    Path(arguments.json).write_text(json.dumps(record, indent=1))
    print(json.dumps(record, indent=1))
    return 0


def table(arguments) -> int:
    records = sorted(
        (json.loads(Path(path).read_text()) for path in arguments.files),
        key=lambda record: (record["dataset"], record["shots"]),
    )
    print(
        "| dataset | 5-way shots | test accuracy (600 tasks, 95% CI) | best val accuracy (step) | backbone | "
        "inner steps | meta-training steps | training time | device |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for record in records:
        print(
            f"| {record['dataset']} | {record['shots']} | "
            f"{100 * record['accuracy']:.2f}% ± {100 * record['ci95']:.2f}% | "
            f"{100 * record['best_val_accuracy']:.1f}% ({record['best_step']}) | {record['backbone']} | "
            f"{record['inner_steps']} | {record['steps']} | {record['training_seconds'] / 60:.1f} min | "
            f"{record['device']}, torch {record['torch']} |"
        )
    print()
    for record in records:
        print(f"- `{record['command']}`, then `{record['evaluate']}`")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("run", help="train one Meta-LSTM and evaluate it on 600 test tasks")
    one.add_argument("--dataset", default="glyphs", choices=["glyphs", "omniglot-small"])
    one.add_argument("--shots", type=int, default=1)
    one.add_argument("--backbone", default="conv4-small")
    one.add_argument("--inner-steps", type=int, default=5)
    one.add_argument("--steps", type=int, default=2000)
    one.add_argument("--meta-batch", type=int, default=1)
    one.add_argument("--lr", type=float, default=3e-3)
    one.add_argument("--device", default=None)
    one.add_argument("--out", default=None, help="run folder (default runs/metalstm_<dataset>_<shots>shot)")
    one.add_argument("--json", required=True, help="where to write the record")
    one.set_defaults(handler=run)
    collect = commands.add_parser("table", help="markdown table of run records")
    collect.add_argument("files", nargs="+")
    collect.set_defaults(handler=table)
    arguments = parser.parse_args(argv)
    return arguments.handler(arguments)


if __name__ == "__main__":
    sys.exit(main())

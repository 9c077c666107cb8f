"""Why first-order MAML trails MAML in this lab's short runs: the meta-gradient it drops, and the learning curves.

    OMP_NUM_THREADS=1 python benchmarks/fomaml_gap.py --steps 1000 > results/fomaml_gap.md

1. The angle between the two meta-gradients. At the same weights and on the same meta-batches, MAML's
   meta-gradient (through the inner step, with its term -alpha H_S grad L_Q) and first-order MAML's (the inner
   gradient held constant) are compared by their cosine, for several inner step sizes alpha, at the initial
   weights and after MAML's meta-training. A cosine near 1 means the dropped term is negligible.
2. Learning curves: MAML and first-order MAML meta-trained on the same tasks (glyphs, conv4-small, 5-way 1-shot,
   5 queries, meta-batch 4, Adam 3e-3 cosine-annealed, one inner step, 3 at test time), for alpha = 0.4 (the
   notebooks' setting) and alpha = 0.1, scored on meta-validation tasks along the way. Only meta-validation is used.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics

import torch

from fewshot_lab import TaskSampler, build_learner, load_dataset, meta_train
from fewshot_lab.lessons.s78 import meta_gradient_agreement

INNER_LRS = (0.05, 0.1, 0.2, 0.4)


def classifier(method: str, inner_lr: float):
    torch.manual_seed(0)
    return build_learner(method, backbone="conv4-small", ways=5, inner_steps=1, inner_lr=inner_lr, test_inner_steps=3)


def agreement_row(label: str, learner, glyphs) -> str:
    cosines = meta_gradient_agreement(
        learner, TaskSampler(glyphs, "train", ways=5, shots=1, queries=5, seed=1), inner_lrs=INNER_LRS, batches=10
    )
    cells = [f"{statistics.mean(values):.2f} (min {min(values):.2f})" for values in cosines.values()]
    return f"| {label} | " + " | ".join(cells) + " |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="meta-training steps per learning curve")
    parser.add_argument("--val-every", type=int, default=100)
    arguments = parser.parse_args()
    glyphs = load_dataset("glyphs")
    print("# Why first-order MAML trails MAML here\n")
    print(
        f"Command: `OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')} python benchmarks/fomaml_gap.py "
        f"--steps {arguments.steps} --val-every {arguments.val_every}`  "
    )
    print(
        f"Hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"with {torch.get_num_threads()} threads, python {platform.python_version()}; "
        f"{datetime.date.today().isoformat()}  "
    )
    print(
        "Data: glyphs, conv4-small, 5-way 1-shot, 5 queries per class, meta-batches of 4 tasks; meta-train tasks "
        "for the gradients, meta-validation tasks for the curves (100 tasks per point, seed 0).\n"
    )

    print("## 1. Cosine between MAML's and first-order MAML's meta-gradients (mean over 10 meta-batches)\n")
    print("| weights | " + " | ".join(f"alpha = {lr}" for lr in INNER_LRS) + " |")
    print("| --- |" + " --- |" * len(INNER_LRS))
    maml = classifier("maml", 0.4)
    print(agreement_row("initial", maml, glyphs))
    curves = {}
    for method, inner_lr in (("maml", 0.4), ("fomaml", 0.4), ("maml", 0.1), ("fomaml", 0.1)):
        learner = classifier(method, inner_lr)
        history = meta_train(
            learner,
            glyphs,
            ways=5,
            shots=1,
            queries=5,
            meta_batch=4,
            steps=arguments.steps,
            lr=3e-3,
            val_every=arguments.val_every,
            val_episodes=100,
            progress=False,
        )
        curves[method, inner_lr] = history
        if (method, inner_lr) == ("maml", 0.4):
            trained = learner
    print(agreement_row(f"after {arguments.steps} steps of MAML (alpha 0.4)", trained, glyphs))

    print("\n## 2. Meta-validation accuracy (%, 5-way 1-shot, 100 tasks) along meta-training\n")
    steps = curves["maml", 0.4].val_step
    print("| learner | " + " | ".join(f"step {step}" for step in steps) + " | seconds |")
    print("| --- |" + " --- |" * (len(steps) + 1))
    for (method, inner_lr), history in curves.items():
        cells = [
            f"{100 * accuracy:.1f} ± {100 * ci:.1f}" for accuracy, ci in zip(history.val_accuracy, history.val_ci95)
        ]
        print(f"| {method}, alpha {inner_lr} | " + " | ".join(cells) + f" | {history.seconds:.0f} |")


if __name__ == "__main__":
    main()

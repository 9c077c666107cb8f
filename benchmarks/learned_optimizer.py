"""The coordinatewise LSTM optimizer against tuned SGD, momentum, RMSprop and Adam on held-out optimizees.

    OMP_NUM_THREADS=1 python benchmarks/learned_optimizer.py quadratic --optimizees 1000
    OMP_NUM_THREADS=1 python benchmarks/learned_optimizer.py mlp --optimizees 300

Meta-trains an LSTMOptimizer (horizon 100, truncations of 20 steps, Adam), tunes every baseline's learning rate
on training optimizees (LEARNING_RATES, 4 per decade, mean loss over the horizon), then runs everything on
held-out optimizees (seeds from HELD_OUT_SEED; for the MLP, characters of glyphs' test alphabets): over the
trained horizon, over a longer one, and for the MLP on the paper's generalisation tests (40 hidden units, two
hidden layers, ReLU), each with baselines re-tuned for that network. Writes results/learned_optimizer_<problem>.md
and its figures.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from fewshot_lab.learned_optimizer import (
    BASELINES,
    HELD_OUT_SEED,
    Baseline,
    CharacterMLP,
    LSTMOptimizer,
    Quadratics,
    run_optimizer,
    train_optimizer,
    tune_learning_rate,
)
from fewshot_lab.lessons.s77 import plot_loss_curves, plot_meta_training

RESULTS = Path(__file__).resolve().parents[1] / "results"


def problems(name: str):
    """{variant: (make_optimizee(seed), held-out optimizees)} of one problem; the first variant is trained on."""
    if name == "quadratic":
        return {"10-d quadratics": (lambda seed: Quadratics(seed=seed), [Quadratics(seed=HELD_OUT_SEED)])}
    from fewshot_lab import load_dataset

    glyphs = load_dataset("glyphs")
    variants = {
        "sigmoid, 20 hidden units (trained on)": {},
        "sigmoid, 40 hidden units": {"hidden": (40,)},
        "sigmoid, 2 hidden layers of 20": {"hidden": (20, 20)},
        "ReLU, 20 hidden units": {"activation": "relu"},
    }
    return {
        variant: (
            lambda seed, options=options: CharacterMLP(glyphs, "train", seed=seed, **options),
            [CharacterMLP(glyphs, "test", seed=HELD_OUT_SEED + index, **options) for index in range(20)],
        )
        for variant, options in variants.items()
    }


def summary_row(name: str, lr, curve: torch.Tensor, horizon: int, learned: torch.Tensor) -> str:
    """Mean loss over steps 1..horizon (95% CI over instances), its paired difference from the learned optimizer's
    on the same instances (95% CI), and the final loss: mean and quartiles."""
    per_instance = curve[1 : horizon + 1].mean(0).double().numpy()  # [instances]
    difference = per_instance - learned[1 : horizon + 1].mean(0).double().numpy()  # [instances]
    final = curve[horizon].double().numpy()
    quartiles = np.percentile(final, [25, 50, 75])
    lr_text = "learned" if lr is None else f"{lr:.3g}"
    paired = "" if lr is None else f"{difference.mean():+.3g} ± {ci95(difference):.2g}"
    return (
        f"| {name} | {lr_text} | {per_instance.mean():.4g} ± {ci95(per_instance):.2g} | {paired} | "
        f"{final.mean():.4g} | {quartiles[0]:.3g} / {quartiles[1]:.3g} / {quartiles[2]:.3g} |"
    )


def ci95(values: np.ndarray) -> float:
    return 1.96 * values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.nan


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", choices=["quadratic", "mlp"])
    parser.add_argument("--optimizees", type=int, default=1000, help="training optimizees (default 1000)")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate of meta-training (default 0.003)")
    parser.add_argument("--horizon", type=int, default=100, help="steps per training run (default 100)")
    parser.add_argument("--longer", type=int, default=1000, help="the longer held-out horizon (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    torch.manual_seed(arguments.seed)
    started = time.perf_counter()
    variants = problems(arguments.problem)
    make_training, _ = next(iter(variants.values()))
    optimizer = LSTMOptimizer()
    meta_losses = train_optimizer(
        optimizer,
        make_training,
        optimizees=arguments.optimizees,
        horizon=arguments.horizon,
        lr=arguments.lr,
        progress=True,
    )
    training_seconds = time.perf_counter() - started
    stem = f"learned_optimizer_{arguments.problem}"
    plot_meta_training(meta_losses).savefig(RESULTS / f"{stem}_meta_training.png", dpi=110)
    lines = [
        f"# Learned optimizer (LSTM, Andrychowicz et al. 2016) on {arguments.problem} optimizees",
        "",
        "Command: `OMP_NUM_THREADS=1 python benchmarks/learned_optimizer.py "
        f"{' '.join(sys.argv[1:] if argv is None else argv)}`",
        "",
        f"Meta-training: {arguments.optimizees} training optimizees (seeds 0..{arguments.optimizees - 1}), "
        f"horizon {arguments.horizon}, truncations of 20 steps, Adam lr {arguments.lr}; "
        f"{training_seconds / 60:.1f} minutes.",
        "",
        f"![meta-training]({stem}_meta_training.png)",
        "",
    ]
    for index, (variant, (make_optimizee, held_out)) in enumerate(variants.items()):
        tuned = {name: tune_learning_rate(name, make_optimizee, arguments.horizon)[0] for name in BASELINES}
        optimizers = {
            "LSTM optimizer": (None, optimizer),
            **{name: (lr, Baseline(name, lr)) for name, lr in tuned.items()},
        }
        horizons = (arguments.horizon, arguments.longer) if index == 0 else (arguments.horizon,)
        for horizon in horizons:
            curves = {
                name: torch.cat([run_optimizer(rule, optimizee, horizon) for optimizee in held_out], 1)
                for name, (_, rule) in optimizers.items()
            }
            figure_name = f"{stem}_{index}_{horizon}.png"
            instances = curves["LSTM optimizer"].shape[1]
            title = f"{variant}: {instances} held-out instances, {horizon} steps"
            plot_loss_curves(curves, title=title, trained_horizon=arguments.horizon).savefig(
                RESULTS / figure_name, dpi=110
            )
            lines += [
                f"## {title}",
                "",
                "| optimizer | learning rate (tuned on training optimizees) | mean loss over steps 1..T "
                "(95% CI over instances) | minus the LSTM's, same instances (95% CI) | final loss: mean | "
                "final loss: 25% / median / 75% |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            lines += [
                summary_row(name, lr, curves[name], horizon, curves["LSTM optimizer"])
                for name, (lr, _) in optimizers.items()
            ]
            lines += ["", f"![{title}]({figure_name})", ""]
    seconds = time.perf_counter() - started
    lines += [
        f"Total wall time {seconds / 60:.1f} minutes on a 2-core CPU shared with other jobs "
        f"(OMP_NUM_THREADS=1), torch {torch.__version__}.",
        "",
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

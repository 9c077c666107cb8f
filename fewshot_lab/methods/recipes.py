"""Each method's default recipe: what `fewshot-lab train --method M --dataset D` trains with no other flag, and what
build_learner(M) builds with no option.

A recipe is the settings chosen on meta-validation for a method (results/defaults.md gathers the evidence, one row
per method, from the method tables of results/). Its training settings apply where they were chosen: the image
classification recipes to datasets of images (glyphs, omniglot, a folder of class folders), the recipes of
generated tasks to their own family (copy, babi-1 and babi-2). Elsewhere, MAML on sine waves say, meta_train's own
defaults hold. A flag given to `train`, or an option given to build_learner, always wins.

    recipe_for("protonet").training      # {"ways": 20, "queries": 5, "lr": 0.002, ...}
    choose_precision("protonet", "cpu")  # ("fp32", "this CPU has no bfloat16 units: no AMX, no AVX512-BF16")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch


@dataclass(frozen=True)
class Recipe:
    """training: meta_train settings (ways, queries, meta_batch, lr, val_every, val_ways; augment by its CLI name).
    learner: build_learner options (backbone, inner_steps, inner_lr).
    test_views: the run's evaluation choice: a metric learner embeds support and queries as the mean of 9 views
        shifted by this many pixels (fewshot_lab.backbones.ShiftedViews; 0: none).
    bf16: bfloat16 training was measured faster at the same meta-validation accuracy, on a CPU with bfloat16 units,
        with the recipe's learner settings (a learner built with others trains in float32 under precision auto).
    evidence: the file of results/ holding the meta-validation figures that chose it.
    chosen_on: the data its training settings were chosen on: "images", or a family of generated tasks ("copy",
        "stories"); they apply to that data only."""

    training: dict = field(default_factory=dict)
    learner: dict = field(default_factory=dict)
    test_views: int = 0
    bf16: bool = False
    evidence: str = ""
    chosen_on: str = "images"


DEFAULT_BACKBONE = "conv4"  # build_learner's backbone where neither the caller nor the recipe names one

_WIDE = {"ways": 20, "shots": 1, "queries": 5, "val_every": 500, "val_ways": 5}  # trained wide, as Snell et al.
_MAML_STEP = {"ways": 5, "shots": 1, "queries": 5, "meta_batch": 1, "val_every": 500}
_SEQUENCES = {"ways": 5, "meta_batch": 16, "lr": 3e-3, "val_every": 500, "augment": "rotations"}

RECIPES = {
    "protonet": Recipe(
        {**_WIDE, "lr": 2e-3}, test_views=1, bf16=True, evidence="results/protonet_3min_omniglot_small.md"
    ),
    "matching": Recipe({**_WIDE, "lr": 3e-3}, test_views=1, evidence="results/defaults.md"),
    "knn": Recipe(test_views=1, evidence="results/defaults.md"),
    "finetune": Recipe(evidence="results/demo_learners.md"),
    "maml": Recipe(_MAML_STEP, {"inner_steps": 1, "inner_lr": 0.4}, bf16=True, evidence="results/defaults.md"),
    "fomaml": Recipe(_MAML_STEP, {"inner_steps": 1, "inner_lr": 0.1}, evidence="results/fomaml_gap.md"),
    "metasgd": Recipe(_MAML_STEP, {"inner_steps": 1, "inner_lr": 0.1}, evidence="results/defaults.md"),
    "anil": Recipe(_MAML_STEP, {"inner_steps": 1, "inner_lr": 0.4}, evidence="results/defaults.md"),
    "reptile": Recipe(_MAML_STEP, {"inner_steps": 5, "inner_lr": 0.3}, evidence="results/defaults.md"),
    "metalstm": Recipe(
        {"ways": 5, "queries": 15, "lr": 1e-3, "val_every": 400},
        {"backbone": "conv4-small", "inner_steps": 5},
        evidence="results/defaults.md",
    ),
    "mann": Recipe(_SEQUENCES, evidence="results/defaults.md"),
    "lstm": Recipe(_SEQUENCES, evidence="results/defaults.md"),
    "ntm": Recipe({"shots": 10, "meta_batch": 16, "lr": 3e-3}, evidence="results/defaults.md", chosen_on="copy"),
    "lstm-copy": Recipe({"shots": 10, "meta_batch": 16, "lr": 3e-3}, evidence="results/defaults.md", chosen_on="copy"),
    "memnet": Recipe(
        {"shots": 12, "queries": 3, "meta_batch": 32, "lr": 1e-2, "val_episodes": 200},
        {"linear_start": 1000},
        evidence="results/defaults.md",
        chosen_on="stories",
    ),
}


def recipe_for(method: str) -> Recipe:
    if method not in RECIPES:
        raise ValueError(f"no recipe for method {method!r}: the recipes are for {', '.join(RECIPES)}")
    return RECIPES[method]


def data_kind(dataset) -> str | None:
    """What a recipe's `chosen_on` names: "images" for a dataset of images, else its family of generated tasks."""
    from fewshot_lab.data import holds_images

    return "images" if holds_images(dataset) else getattr(dataset, "task_family", None)


def training_defaults(method: str, dataset) -> dict:
    """The recipe's training settings that apply to `dataset` (see the module docstring): {} where none do."""
    recipe = recipe_for(method)
    return dict(recipe.training) if data_kind(dataset) == recipe.chosen_on else {}


def bf16_units() -> list[str]:
    """The CPU's bfloat16 arithmetic units, as /proc/cpuinfo names them ([] where it names none, or has none)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:  # not Linux: no native bfloat16 assumed
        return []
    return [unit for unit in ("avx512_bf16", "amx_bf16") if unit in flags]


def choose_precision(method: str, device, dataset=None, learner_options: dict | None = None) -> tuple[str, str]:
    """("bf16" or "fp32", why): bfloat16 only where the CPU computes it natively and the method's recipe measured it
    faster at the same meta-validation accuracy (results/precision.md, results/defaults.md), and only for what was
    measured: the recipe's data (`dataset`; None: not checked) and its learner settings, the backbone included
    (`learner_options` given to build_learner that differ from them mean float32: MAML with 5 inner steps, or
    ProtoNet on conv4-small, was not timed in bfloat16). On CUDA it
    was never measured: float32."""
    if torch.device(device).type != "cpu":
        return "fp32", f"bfloat16 training has not been measured on {torch.device(device).type}"
    recipe = RECIPES.get(method, Recipe())
    if not recipe.bf16:
        return "fp32", f"bfloat16 training was not measured faster for {method}"
    if dataset is not None and data_kind(dataset) != recipe.chosen_on:
        return "fp32", f"bfloat16 training was measured for {method} on {recipe.chosen_on}, not on {dataset.name}"
    measured_with = {"backbone": DEFAULT_BACKBONE, **recipe.learner}
    changed = {
        name: value
        for name, value in (learner_options or {}).items()
        if name in measured_with and value is not None and value != measured_with[name]
    }
    if changed:
        measured = ", ".join(f"{name} {measured_with[name]}" for name in changed)
        given = ", ".join(f"{name} {value}" for name, value in changed.items())
        return "fp32", f"bfloat16 training was measured for {method}'s recipe ({measured}), not with {given}"
    units = bf16_units()
    if not units:
        return "fp32", "this CPU has no bfloat16 units: no AMX, no AVX512-BF16"
    return "bf16", f"this CPU computes bfloat16 natively ({', '.join(units)})"

"""The models shipped in this folder, loaded by name (fewshot_lab.pretrained documents them and their recipes).
Loading needs neither the recipes nor the command line, so fewshot_lab.load can take a shipped model's name."""

from __future__ import annotations

from pathlib import Path

import torch

from fewshot_lab.methods import build_learner

FOLDER = Path(__file__).resolve().parent


def shipped_names() -> list[str]:
    """The names of the models shipped with the package."""
    return sorted(path.stem for path in FOLDER.glob("*.pt"))


def load_pretrained(name: str):
    """The shipped learner `name` (see RECIPES), float32, evaluation mode, on the CPU; what was shipped with it
    (commands, history, dataset, short_fingerprint) is in its `pretrained` attribute."""
    path = FOLDER / f"{name}.pt"
    if not path.exists():
        raise ValueError(f"no pretrained model {name!r}; shipped: {', '.join(shipped_names()) or 'none'}")
    shipped = torch.load(path, map_location="cpu", weights_only=True)
    learner = build_learner(shipped["method"], recipe=False, **shipped["config"])
    learner.load_state_dict(
        {key: value.float() if value.is_floating_point() else value for key, value in shipped["weights"].items()}
    )
    learner.pretrained = {key: value for key, value in shipped.items() if key != "weights"}
    return learner.eval()

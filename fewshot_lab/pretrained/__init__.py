"""Small trained models shipped with the package: for the notebook of section 7.6, which cannot train a
memory-augmented network, nor a Neural Turing Machine on the copy task, far enough in its two minutes, and the
learners of the class demo that answer at once when a class draws its own symbols (fewshot_lab.pad,
fewshot_lab.lessons.teach): a Prototypical Network, Matching Networks, a pretrained classifier's embedding (for k-NN
and fine-tuning) and MAML.

    learner = load_pretrained("mann_omniglot")   # a MemoryAugmentedNetwork, evaluation mode, on the CPU
    fewshot_lab.load("protonet_omniglot")        # the ProtoNet, taking pictures (fewshot_lab.saved)
    ntm = load_pretrained("ntm_copy")            # a NeuralTuringMachine (lstm_copy: its LSTM baseline)
    learner.pretrained["commands"]               # the exact commands that trained it
    learner.pretrained["history"]                # meta-validation accuracy over meta-training steps

Each model is the `best` checkpoint of a run of `fewshot-lab train`, exported with

    python -m fewshot_lab.pretrained RUN NAME

which keeps the weights in half precision (to stay small; loaded back as float32), the learner's
configuration, the dataset's description and the training history, and a fingerprint of the same
commands run for SHORT_STEPS steps (tests/test_mann_pretrained.py reruns them and compares).
RECIPES names the commands; a `{runs}` folder holds the intermediate runs.

The fingerprint holds on every CPU: the short recipe runs in float64 on one thread, where the order in which
another processor's kernels sum moved it by at most 3e-8 (in float32, 1e-3 to 2e-2, as much as a change of recipe),
while a 1% change of the MANN's learning rate moves it by 6e-3. `python -m fewshot_lab.pretrained --fingerprint
NAME` prints it; benchmarks/fingerprint.py measures how far kernels, threads and recipe changes move it
(results/fingerprint.md).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch

from fewshot_lab.checkpoints import read_checkpoint
from fewshot_lab.methods import build_learner
from fewshot_lab.methods.mann import SHIPPED_VARIANT
from fewshot_lab.paths import atomic_path
from fewshot_lab.pretrained.shipped import FOLDER, load_pretrained, shipped_names

__all__ = [
    "FOLDER",
    "RECIPES",
    "export",
    "fingerprint",
    "load_pretrained",
    "recipe",
    "shipped_names",
    "short_fingerprint",
]

SHORT_STEPS = 3  # steps of each command in the reproduction fingerprint
HISTORY_WINDOW = 100  # training accuracy is shipped as means over windows of this many steps

_KNN = (
    "train --method knn --dataset omniglot-small --steps {steps} --val-every {knn_val_every} "
    "--val-episodes {val_episodes} --out {runs}/knn_os"
)
_SEQUENCE = (
    "train --method {method} --dataset omniglot-small --ways 5 --meta-batch 16 --steps {steps} --lr 3e-3 "
    "--val-every {val_every} --val-episodes {sequence_val_episodes} --encoder conv4 --freeze-encoder "
    "--init {runs}/knn_os --augment rotations --out {runs}/{method}_c4_os"
)
_SHIPPED_FLAGS = "".join(
    f" --{option.replace('_', '-')}" for option in SHIPPED_VARIANT
)  # --add-vectors --write-to-last
# the copy task on sequences of lengths 1 to 10, validated once, at the end: the last weights are the best ones
_COPY = (
    "train --method {method} --dataset copy --shots 10 --meta-batch 16 --steps {steps} --lr 3e-3 "
    "--val-every {steps} --val-episodes {val_episodes} --out {runs}/{name}"
)
# the demo's metric learner (notebooks/teach_it.ipynb): Prototypical Networks, trained wide (20-way) as Snell et al.
_PROTONET = (
    "train --method protonet --dataset omniglot-small --ways 20 --shots 1 --queries 5 --lr 2e-3 --steps {steps} "
    "--val-every {val_every} --val-episodes {val_episodes} --val-ways 5 --precision fp32 --out {runs}/protonet_os"
)
# the demo's other learners, each with the settings benchmarks/compare_all.py chose on meta-validation: Matching
# Networks trained wide like the ProtoNet (at lr 1e-3: its recipe's 3e-3 was chosen later, results/defaults.md), MAML
# on 5-way tasks (its head has 5 outputs) with one inner step of 0.4
_MATCHING = (
    "train --method matching --dataset omniglot-small --ways 20 --shots 1 --queries 5 --lr 1e-3 --steps {steps} "
    "--val-every {val_every} --val-episodes {val_episodes} --val-ways 5 --out {runs}/matching_os"
)
_MAML = (
    "train --method maml --dataset omniglot-small --ways 5 --shots 1 --queries 5 --meta-batch 4 --inner-steps 1 "
    "--inner-lr 0.4 --steps {steps} --val-every {val_every} --val-episodes {val_episodes} --precision fp32 "
    "--out {runs}/maml_os"
)
# name -> (commands with the steps, validation and {runs} folder left open, their full-length steps)
RECIPES = {
    "protonet_omniglot": ([_PROTONET], [3000]),
    "matching_omniglot": ([_MATCHING], [3000]),
    "knn_omniglot": ([_KNN], [2500]),  # the pretrained embedding of k-NN and of fine-tuning (methods/baseline.py)
    "maml_omniglot": ([_MAML], [2000]),
    "mann_omniglot": ([_KNN, _SEQUENCE.replace("{method}", "mann") + _SHIPPED_FLAGS], [2500, 12000]),
    "lstm_omniglot": ([_KNN, _SEQUENCE.replace("{method}", "lstm")], [2500, 12000]),
    "ntm_copy": ([_COPY.replace("{method}", "ntm").replace("{name}", "ntm_copy")], [2000]),
    "lstm_copy": ([_COPY.replace("{method}", "lstm-copy").replace("{name}", "lstm_copy")], [2000]),
}


def recipe(name: str, runs: str = "runs", short: bool = False) -> list[list[str]]:
    """The fewshot-lab command lines (argument lists) that train model `name`, in order; short=True gives every
    command SHORT_STEPS steps (and one validation of 4 tasks), as the reproduction test runs them."""
    if name not in RECIPES:
        raise ValueError(f"no recipe named {name!r}: choose one of {', '.join(RECIPES)}")
    commands, steps = RECIPES[name]
    lines = []
    for command, full in zip(commands, steps):
        count = SHORT_STEPS if short else full
        validation = (
            dict(knn_val_every=count, val_every=count, val_episodes=4, sequence_val_episodes=4)
            if short
            else dict(knn_val_every=250, val_every=500, val_episodes=100, sequence_val_episodes=300)
        )
        lines.append(command.format(steps=count, runs=runs, **validation).split())
    return lines


def fingerprint(learner) -> list[float]:
    """Four numbers that change when any weight does: the sum and the sum of squares of all parameters, and
    the same weighted by position (so that swapped weights show)."""
    values = torch.cat([parameter.detach().double().flatten() for parameter in learner.parameters()])
    position = torch.linspace(0, 1, len(values), dtype=torch.float64)
    return [
        float(values.sum()),
        float((values**2).sum()),
        float((position * values).sum()),
        float((position * values**2).sum()),
    ]


def short_fingerprint(name: str, edit=None) -> list[float]:
    """Run recipe(name, short=True) in a temporary folder, in float64 on one CPU thread, and fingerprint the last
    run's final weights. edit(line) -> line may change each command first (benchmarks/fingerprint.py uses it to
    show what a changed recipe does).

    Why float64 and one thread: a convolution's backward pass sums in an order that depends on the processor's
    kernels and the thread count, and Adam turns the last-bit differences into visible ones within a few steps.
    In float32 those differences start at 1e-7 of a weight and the fingerprint moved by 0.1 to 2%, as much as a
    change of the recipe; in float64 they start at 1e-16 and the fingerprint moved by at most 3e-8, far below the
    6e-3 of a 1% change of the MANN's learning rate (results/fingerprint.md)."""
    from fewshot_lab.cli import main
    from fewshot_lab.engine import torch_threads

    runs = Path(tempfile.mkdtemp(prefix="fewshot_lab_recipe_"))
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with torch_threads(1):
            for line in recipe(name, runs=str(runs), short=True):
                line = edit(line) if edit else line
                if main(line) != 0:
                    raise RuntimeError(f"fewshot-lab {' '.join(line)} failed")
            payload = read_checkpoint(Path(line[line.index("--out") + 1]) / "last.pt")
            learner = build_learner(payload["method"], recipe=False, **payload["config"])
            learner.load_state_dict(payload["weights"])
            return fingerprint(learner)
    finally:
        torch.set_default_dtype(dtype)
        shutil.rmtree(runs, ignore_errors=True)


def export(run, name: str) -> Path:
    """Write the best checkpoint of `run` as FOLDER/NAME.pt (half-precision weights) with its recipe."""
    commands = ["fewshot-lab " + " ".join(line) for line in recipe(name)]  # refuses an unknown name first
    payload = read_checkpoint(Path(run) / "best.pt")
    history = (payload.get("training") or {}).get("history", {})
    shipped = {
        "method": payload["method"],
        "config": payload["config"],
        "dataset": payload["dataset"],
        "weights": {
            key: value.half() if value.is_floating_point() else value for key, value in payload["weights"].items()
        },
        "history": {
            "val_step": history.get("val_step"),
            "val_accuracy": history.get("val_accuracy"),
            "best_step": history.get("best_step"),
            "seconds": history.get("seconds"),
            "train_accuracy": _window_means(history.get("accuracy") or [], HISTORY_WINDOW),
        },
        "commands": commands,
        "short_fingerprint": short_fingerprint(name),
    }
    path = FOLDER / f"{name}.pt"
    with atomic_path(path) as temporary:  # a failed export leaves the shipped model as it was
        torch.save(shipped, temporary)
    return path


def _window_means(values: list, window: int) -> list[float]:
    """Means of consecutive windows of `window` values (the last, partial one dropped)."""
    return [sum(values[start : start + window]) / window for start in range(0, len(values) - window + 1, window)]

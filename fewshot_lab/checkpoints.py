"""Checkpoints: a learner's weights and how to rebuild it, written atomically, read with weights_only=True.

A checkpoint holds only tensors and plain values (no pickled code), so torch.load(path, weights_only=True)
reads it safely. It names the method and its constructor arguments, and the dataset's preprocessing,
so that fewshot_lab.load can rebuild a learner that accepts raw images.
"""

from __future__ import annotations

from pathlib import Path

import torch

from fewshot_lab.paths import atomic_path, remove_stale_temporaries

FORMAT = "fewshot_lab-checkpoint-1"


def dataset_record(dataset) -> dict:
    record = {"name": dataset.name}
    if hasattr(dataset, "preprocessing"):
        record["preprocessing"] = dataset.preprocessing.to_dict()
        record["image_shape"] = list(dataset.image_shape)
    return record


def save_checkpoint(path, learner, dataset, weights: dict | None = None, training: dict | None = None):
    payload = {
        "format": FORMAT,
        "method": learner.method,
        "config": learner.config(),
        "weights": weights if weights is not None else learner.state_dict(),
        "dataset": dataset_record(dataset),
        "training": training,
    }
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def read_checkpoint(path) -> dict:
    """The checkpoint's contents, or a clear error if the file is missing or not a fewshot_lab checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch's own message advises weights_only=False, which would run whatever the file holds
        raise ValueError(
            f"{str(path)!r} is not a readable fewshot_lab checkpoint: it is damaged (cut short or "
            f"altered), or it holds more than tensors and plain values; it was not loaded"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a fewshot_lab checkpoint (expected format {FORMAT!r})")
    return payload


def load_checkpoint(path, learner, dataset=None) -> dict:
    """Load the weights of `path` into `learner`, refusing a checkpoint of another method, shape or dataset."""
    payload = read_checkpoint(path)
    if payload["method"] != learner.method:
        raise ValueError(f"{str(path)!r} holds a {payload['method']!r} learner, not a {learner.method!r} one")
    if payload["config"] != learner.config():
        ours = learner.config()
        differing = ", ".join(
            f"{name} {payload['config'].get(name)!r} there, {ours.get(name)!r} here"
            for name in sorted(set(payload["config"]) | set(ours))
            if payload["config"].get(name) != ours.get(name)
        )
        raise ValueError(
            f"{str(path)!r} was made by a {payload['method']} learner with {payload['config']}, "
            f"but this one has {ours} ({differing})"
        )
    if dataset is not None and payload["dataset"] != dataset_record(dataset):
        raise ValueError(f"{str(path)!r} was trained on {payload['dataset']}, not on {dataset_record(dataset)}")
    try:
        learner.load_state_dict(payload["weights"])
    except RuntimeError as error:
        raise ValueError(
            f"the weights in {str(path)!r} do not fit this {learner.method} learner: {str(error).splitlines()[0]}"
        ) from None
    return payload


RUN_FILES = ("best.pt", "last.pt")  # what a run writes into its folder (meta_train's `out`)


def held_run_files(folder) -> list[str]:
    """The checkpoints of a run that `folder` holds (names among RUN_FILES)."""
    return [name for name in RUN_FILES if (Path(folder) / name).exists()]


def refuse_taken_folder(folder, continue_option: str, replace_option: str):
    """Refuse to start a run in a folder that holds another run; the options are named in the caller's words
    (e.g. "--resume" and "--replace", or "resume=True" and "replace=True")."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{str(folder)!r} is a file, not a run folder: give a folder for the checkpoints")
    held = held_run_files(folder)
    if held:
        raise FileExistsError(
            f"{str(folder)!r} already holds a run ({' and '.join(held)}): give {continue_option} to "
            f"continue it, {replace_option} to delete it and start this one, or another folder"
        )


def clear_run(folder):
    """Delete every file of the run in `folder`: its checkpoints and the temporaries of a write that was killed."""
    folder = Path(folder)
    for name in RUN_FILES:
        (folder / name).unlink(missing_ok=True)
        remove_stale_temporaries(folder / name)


def read_run(folder, checkpoint: str = "best") -> tuple[dict, dict]:
    """(the chosen checkpoint, the last one) of a run folder, refusing a folder whose best.pt and last.pt are not
    one run's record: best.pt must be the checkpoint last.pt names as its best (same run, same step).
    `checkpoint` "best" falls back to last.pt for a run that validated nothing (a final run)."""
    folder = Path(folder)
    if checkpoint not in ("best", "last"):
        raise ValueError(f"checkpoint must be 'best' or 'last', got {checkpoint!r}")
    if not (folder / "last.pt").is_file():
        raise FileNotFoundError(
            f"{str(folder)!r} is not a run folder: it has no last.pt (a folder written by "
            f"`fewshot-lab train --out` or meta_train(out=...))"
        )
    last = read_checkpoint(folder / "last.pt")
    if not (folder / "best.pt").is_file():
        return last, last
    best = read_checkpoint(folder / "best.pt")
    best_training, last_training = best.get("training") or {}, last.get("training") or {}
    recorded = (last_training.get("run"), (last_training.get("history") or {}).get("best_step"))
    found = (best_training.get("run"), best_training.get("step"))
    if recorded != found:
        raise ValueError(
            f"the best.pt and last.pt in {str(folder)!r} are not one run's record: best.pt is step "
            f"{found[1]} of run {found[0]}, but last.pt records step {recorded[1]} of run {recorded[0]} "
            f"as its best. Train into the folder again, replacing it, or resume the run to rewrite both"
        )
    return (best if checkpoint == "best" else last), last

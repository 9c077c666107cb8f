"""Checkpoints: a learner's weights and how to rebuild it, written atomically, read with weights_only=True.

A checkpoint holds only tensors and plain values (no pickled code), so torch.load(path, weights_only=True)
reads it safely. It names the method and its constructor arguments, and the dataset's preprocessing,
so that fewshot_lab.load can rebuild a learner that accepts raw images.
"""
from __future__ import annotations

from pathlib import Path

import torch

from fewshot_lab.paths import atomic_path

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
        raise ValueError(f"{str(path)!r} is not a readable fewshot_lab checkpoint: it is damaged (cut short or "
                         f"altered), or it holds more than tensors and plain values; it was not loaded") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a fewshot_lab checkpoint (expected format {FORMAT!r})")
    return payload


def load_checkpoint(path, learner, dataset=None) -> dict:
    """Load the weights of `path` into `learner`, refusing a checkpoint of another method, shape or dataset."""
    payload = read_checkpoint(path)
    if payload["method"] != learner.method:
        raise ValueError(f"{str(path)!r} holds a {payload['method']!r} learner, not a {learner.method!r} one")
    if payload["config"] != learner.config():
        raise ValueError(f"{str(path)!r} was made by a {payload['method']} learner with {payload['config']}, "
                         f"but this one has {learner.config()}")
    if dataset is not None and payload["dataset"] != dataset_record(dataset):
        raise ValueError(f"{str(path)!r} was trained on {payload['dataset']}, not on {dataset_record(dataset)}")
    try:
        learner.load_state_dict(payload["weights"])
    except RuntimeError as error:
        raise ValueError(f"the weights in {str(path)!r} do not fit this {learner.method} learner: "
                         f"{str(error).splitlines()[0]}") from None
    return payload

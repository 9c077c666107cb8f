"""An embedding learned by ordinary classification over all meta-train classes mixed together (7.4).

This is the simplest way to carry knowledge across tasks: train one classifier over every
meta-train class, throw its last layer away, and keep the features. New classes are then
recognised by nearest neighbours in that feature space (methods.nearest.NearestNeighbour).
"""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from fewshot_lab.data.dataset import FewShotDataset


def pretrain_embedding(backbone: nn.Module, dataset: FewShotDataset, split: str | Sequence[int] = "train", steps: int = 500,
                       batch_size: int = 64, lr: float = 1e-3, max_seconds: float | None = None, seed: int = 0,
                       progress: bool = False) -> dict:
    """Train `backbone` plus a linear head to classify the images of every class in `split`.

    `split` is a meta-split name, or a list of class indices (to show what training on the wrong
    classes does, as notebook 7.3 does).

    Stops after `steps` steps or `max_seconds` seconds, whichever comes first. Returns the history
    {"loss": [...], "accuracy": [...]} (one entry per step, on the training batch).
    """
    if isinstance(split, str):
        dataset.check_split(split)
        classes = torch.tensor(dataset.splits[split])
    else:
        classes = torch.tensor(sorted(set(int(c) for c in split)), dtype=torch.long)
        if len(classes) and not (0 <= classes.min() and classes.max() < dataset.num_classes):
            raise ValueError(f"class indices must lie in 0..{dataset.num_classes - 1} for {dataset.name}")
    if len(classes) < 2:
        raise ValueError(f"pretraining needs 2 or more classes; {split if isinstance(split, str) else 'the list'} "
                         f"of {dataset.name} has {len(classes)}")
    images = torch.cat([dataset.image_indices(int(c)) for c in classes])  # image indices of the split
    relabel = torch.full((dataset.num_classes,), -1, dtype=torch.long)
    relabel[classes] = torch.arange(len(classes))
    device = next(backbone.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    with torch.no_grad():
        features = backbone.eval()(dataset.as_float(images[:2]).to(device)).shape[1]
    head = nn.Linear(features, len(classes)).to(device)
    optimizer = torch.optim.Adam([*backbone.parameters(), *head.parameters()], lr=lr)
    history = {"loss": [], "accuracy": []}
    backbone.train()
    start = time.perf_counter()
    for _ in tqdm(range(steps), disable=not progress, desc="pretraining"):
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
        batch = images[torch.randint(len(images), (batch_size,), generator=generator)]
        x = dataset.as_float(batch).to(device)            # [batch_size, C, H, W]
        y = relabel[dataset.targets[batch]].to(device)    # [batch_size]
        logits = head(backbone(x))
        loss = nn.functional.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history["loss"].append(loss.item())
        history["accuracy"].append((logits.argmax(1) == y).float().mean().item())
    backbone.eval()
    return {name: np.array(values) for name, values in history.items()}

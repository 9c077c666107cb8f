"""Every method by name: build_learner("protonet", backbone="conv4") gives a learner that can be saved and rebuilt.

A learner built by name remembers its arguments (learner.config()), which checkpoints store so that
fewshot_lab.load can rebuild it. A learner built directly around a custom module works everywhere
except saving by name.
"""

from __future__ import annotations

import importlib
import inspect

import torch

from fewshot_lab.backbones import BACKBONES, make_backbone

METHODS = {
    "protonet": ("fewshot_lab.methods.protonet", "PrototypicalNetwork"),
    "matching": ("fewshot_lab.methods.matching", "MatchingNetwork"),
    "knn": ("fewshot_lab.methods.baseline", "PretrainedNearestNeighbour"),
    "finetune": ("fewshot_lab.methods.baseline", "FineTuner"),
    "maml": ("fewshot_lab.methods.maml", "MAML"),
    "fomaml": ("fewshot_lab.methods.maml", "FirstOrderMAML"),
    "metasgd": ("fewshot_lab.methods.maml", "MetaSGD"),
    "anil": ("fewshot_lab.methods.maml", "ANIL"),
    "reptile": ("fewshot_lab.methods.maml", "Reptile"),
    "mann": ("fewshot_lab.methods.mann", "MemoryAugmentedNetwork"),
    "lstm": ("fewshot_lab.methods.mann", "LSTMBaseline"),
    "metalstm": ("fewshot_lab.methods.metalstm", "MetaLSTM"),
}


def learner_class(method: str):
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    module, name = METHODS[method]
    return getattr(importlib.import_module(module), name)


def sized_by_ways(method: str) -> bool:
    """Whether the method's model is built for one number of ways (it takes `ways`: a MAML-family head, the
    label slots of the memory networks), so that a task of more ways needs a model built for them."""
    return "ways" in inspect.signature(learner_class(method)).parameters


def build_learner(method: str, backbone: str = "conv4", in_channels: int = 1, image_size: int = 28, **options):
    """A learner of `method` around a `backbone` (see fewshot_lab.backbones.BACKBONES) for `in_channels` images
    of `image_size` pixels (needed to size what follows the backbone: the heads of the pretrained
    learners, Matching Networks' FCE LSTMs).

    The pretrained learners ("knn", "finetune") also need train_classes=, the number of meta-train classes.
    """
    cls = learner_class(method)
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}: choose one of {', '.join(BACKBONES)}")
    parameters = inspect.signature(cls).parameters
    accepted = set(parameters) - {"embedding"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(
            f"method {method!r} takes no option {', '.join(map(repr, unknown))}; "
            f"its options are {', '.join(sorted(accepted)) or 'none'}"
        )
    if "train_classes" in accepted and "train_classes" not in options:
        raise TypeError(
            f"method {method!r} needs train_classes=, the number of meta-train classes (len(dataset.splits['train']))"
        )
    embedding = make_backbone(backbone, in_channels, image_size)
    # the size of the embedding's output: always for a method that requires it (the heads of the pretrained
    # learners), for Matching Networks only with full context embeddings
    if (
        "features" in accepted
        and "features" not in options
        and (parameters["features"].default is inspect.Parameter.empty or options.get("full_context"))
    ):
        options["features"] = output_features(embedding, in_channels, image_size)
    learner = cls(embedding, **options)
    learner.saved_config = {"backbone": backbone, "in_channels": in_channels, "image_size": image_size, **options}
    return learner


def output_features(embedding: torch.nn.Module, in_channels: int, image_size: int) -> int:
    """The size of the embedding's output for one image, measured by a dry run in eval mode (so that batch
    norm neither needs a batch nor updates its statistics)."""
    with torch.no_grad():
        features = embedding.eval()(torch.zeros(1, in_channels, image_size, image_size)).shape[1]
    embedding.train()
    return features

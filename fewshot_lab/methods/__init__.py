"""Every method by name: build_learner("protonet", backbone="conv4") gives a learner that can be saved and rebuilt.

A learner built by name remembers its arguments (learner.config()), which checkpoints store so that
fewshot_lab.load can rebuild it. A learner built directly around a custom module works everywhere
except saving by name.
"""

from __future__ import annotations

import inspect

import torch

from fewshot_lab.backbones import BACKBONES, make_backbone
from fewshot_lab.methods.anil import ANIL
from fewshot_lab.methods.baseline import FineTuner, PretrainedNearestNeighbour
from fewshot_lab.methods.copying import CopyLSTM
from fewshot_lab.methods.maml import MAML, FirstOrderMAML
from fewshot_lab.methods.mann import MemoryAugmentedNetwork
from fewshot_lab.methods.matching import MatchingNetwork
from fewshot_lab.methods.memnet import EndToEndMemoryNetwork
from fewshot_lab.methods.metalstm import MetaLSTM
from fewshot_lab.methods.metasgd import MetaSGD
from fewshot_lab.methods.ntm import NeuralTuringMachine
from fewshot_lab.methods.protonet import PrototypicalNetwork
from fewshot_lab.methods.recipes import DEFAULT_BACKBONE, recipe_for
from fewshot_lab.methods.reptile import Reptile
from fewshot_lab.methods.sequence import LSTMBaseline

LEARNERS = (
    PrototypicalNetwork,
    MatchingNetwork,
    PretrainedNearestNeighbour,
    FineTuner,
    MAML,
    FirstOrderMAML,
    MetaSGD,
    ANIL,
    Reptile,
    MemoryAugmentedNetwork,
    LSTMBaseline,
    MetaLSTM,
    NeuralTuringMachine,
    CopyLSTM,
    EndToEndMemoryNetwork,
)
METHODS = {learner.method: learner for learner in LEARNERS}  # name -> class, each name written once, on its class


def learner_class(method: str):
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    return METHODS[method]


def build_learner(
    method: str,
    backbone: str | None = None,
    in_channels: int = 1,
    image_size: int = 28,
    *,
    recipe: bool = True,
    **options,
):
    """A learner of `method` around a `backbone` (see fewshot_lab.backbones.BACKBONES) for `in_channels` images
    of `image_size` pixels (needed to size what follows the backbone: the heads of the pretrained
    learners, Matching Networks' FCE LSTMs).

    The backbone and the options not given are the method's recipe (fewshot_lab.methods.recipes: conv4 unless the
    recipe names another; first-order MAML's inner_lr 0.1, for instance). recipe=False takes the classes' own
    defaults instead: a saved learner is rebuilt from the options it recorded, whatever the recipes say now.

    The pretrained learners ("knn", "finetune") also need train_classes=, the number of meta-train classes. The
    sequence learners ("mann", "lstm") choose their own image encoder (encoder=) and take no backbone, nor do the
    learners of generated tasks (task_family: "ntm", "lstm-copy", "memnet"), which read bits or words.
    """
    cls = learner_class(method)
    chosen = dict(recipe_for(method).learner) if recipe else {}  # the recipe's options
    recipe_backbone = chosen.pop("backbone", DEFAULT_BACKBONE)
    backbone = recipe_backbone if backbone is None else backbone
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}: choose one of {', '.join(BACKBONES)}")
    parameters = inspect.signature(cls).parameters
    accepted = set(parameters) - {"embedding"}  # the backbone, built here
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(
            f"method {method!r} takes no option {', '.join(map(repr, unknown))}; "
            f"its options are {', '.join(sorted(accepted)) or 'none'}"
        )
    options = {**chosen, **options}
    if "train_classes" in accepted and "train_classes" not in options:
        raise TypeError(
            f"method {method!r} needs train_classes=, the number of meta-train classes (len(dataset.splits['train']))"
        )
    # built for every method, also for those that take none (mann, lstm): its random initial weights come before
    # the learner's own, which are then those of every recorded run and of the shipped models' fingerprints
    embedding = make_backbone(backbone, in_channels, image_size)
    # the size of the embedding's output: always for a method that requires it (the heads of the pretrained
    # learners), for Matching Networks only with full context embeddings
    if (
        "features" in accepted
        and "features" not in options
        and (parameters["features"].default is inspect.Parameter.empty or options.get("full_context"))
    ):
        options["features"] = output_features(embedding, in_channels, image_size)
    learner = cls(embedding, **options) if "embedding" in parameters else cls(**options)
    learner.saved_config = {"backbone": backbone, "in_channels": in_channels, "image_size": image_size, **options}
    return learner


def output_features(embedding: torch.nn.Module, in_channels: int, image_size: int) -> int:
    """The size of the embedding's output for one image, measured by a dry run in eval mode (so that batch
    norm neither needs a batch nor updates its statistics)."""
    with torch.no_grad():
        features = embedding.eval()(torch.zeros(1, in_channels, image_size, image_size)).shape[1]
    embedding.train()
    return features

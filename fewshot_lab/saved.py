"""A trained learner, loaded from a run folder, that takes raw pictures and any labels.

    learner = fewshot_lab.load("runs/proto")
    learner.predict(["a.png", "b.png"], ["alpha", "beta"], ["query.png"])    # -> ["beta"]

The dataset's preprocessing (grey scale, inversion, resizing) was saved with the learner and is
applied to paths and PIL images, so raw 105x105 Omniglot PNGs or one's own drawings work as they are.
Tensors are taken as already preprocessed (ink high, values in [0, 1]) and only resized.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from fewshot_lab.backbones import default_device
from fewshot_lab.checkpoints import read_checkpoint, read_run
from fewshot_lab.data.images import Preprocessing
from fewshot_lab.evaluation import task_scores
from fewshot_lab.methods import build_learner


def load(run, checkpoint: str = "best", device=None) -> SavedLearner:
    """Load the learner of a run folder (or a checkpoint file); `checkpoint` is "best" or "last".
    A folder whose best.pt and last.pt are not one run's record is refused (fewshot_lab.checkpoints.read_run).
    The name of a model shipped with the package (fewshot_lab.pretrained, e.g. "protonet_omniglot") loads that
    model, where no folder or file of that name exists."""
    path = Path(run)
    if isinstance(run, str) and not path.exists():
        from fewshot_lab.pretrained.shipped import load_pretrained, shipped_names

        if run in shipped_names():
            learner = load_pretrained(run).to(default_device(device))
            return SavedLearner(learner, learner.pretrained["dataset"], {"history": learner.pretrained["history"]})
    payload = read_run(path, checkpoint)[0] if path.is_dir() else read_checkpoint(path)
    learner = build_learner(payload["method"], recipe=False, **payload["config"])
    learner.load_state_dict(payload["weights"])
    learner.to(default_device(device)).eval()
    return SavedLearner(learner, payload["dataset"], payload.get("training"))


def copy_embedding(learner, run, checkpoint: str = "best") -> None:
    """Start `learner` from the embedding f of a saved run: copy the weights (and batch-norm statistics) of the
    run's `embedding` into `learner.embedding`, in place.

    The pretrain-then-meta-train recipe (Chen et al. 2021, "Meta-Baseline"): train f by ordinary classification
    over all meta-train classes (`fewshot-lab train --method knn`), then meta-train a ProtoNet, MAML, ... from it.
    `run` is a run folder, a checkpoint file, or a learner. The two embeddings must have the same architecture.
    """
    source = run if isinstance(run, torch.nn.Module) else load(run, checkpoint=checkpoint, device="cpu").learner
    for role, model in (("the learner to start", learner), ("the saved learner", source)):
        if not isinstance(getattr(model, "embedding", None), torch.nn.Module):
            raise ValueError(
                f"{role} ({getattr(model, 'method', type(model).__name__)}) has no embedding network to copy"
            )
    theirs, ours = source.embedding.state_dict(), learner.embedding.state_dict()
    if {name: tuple(t.shape) for name, t in theirs.items()} != {name: tuple(t.shape) for name, t in ours.items()}:
        described = getattr(source, "saved_config", None) or {}
        raise ValueError(
            f"the embedding of {run if not isinstance(run, torch.nn.Module) else 'the saved learner'} "
            f"(a {source.method} learner, backbone {described.get('backbone', '?')}) has another "
            f"architecture than this {learner.method} learner's; start from a run with the same "
            f"backbone and image size"
        )
    learner.embedding.load_state_dict(theirs)


class SavedLearner:
    def __init__(self, learner, dataset: dict, training: dict | None):
        self.learner = learner
        self.dataset = dataset
        self.training = training
        self.preprocessing = Preprocessing(**dataset["preprocessing"]) if "preprocessing" in dataset else None

    def __repr__(self) -> str:
        return f"<SavedLearner {self.learner.method} trained on {self.dataset['name']}>"

    @property
    def test_views(self) -> int:
        """The run's own evaluation choice: pixels of the shifted views its metric learner is scored with (0: none;
        the plan's test_views, from the method's recipe)."""
        return int(((self.training or {}).get("plan") or {}).get("test_views", 0))

    def use_test_views(self, pixels: int | None = None) -> int:
        """Score with shifted views from now on: the run's own choice (test_views), or `pixels` where given (0:
        none). Wraps the learner's embedding in ShiftedViews; returns the pixels in force."""
        from fewshot_lab.backbones import ShiftedViews

        pixels = self.test_views if pixels is None else pixels
        if pixels and not self.learner.compares_embeddings:
            raise ValueError(
                f"shifted views average the embedding of a metric learner, not of a {self.learner.method} learner"
            )
        if pixels:
            self.learner.embedding = ShiftedViews(self.learner.embedding, pixels)
        return pixels

    def predict(self, support, support_labels, query) -> list:
        """The label of each query picture, as one of the given support labels."""
        scores, classes = self.scores(support, support_labels, query)
        return [classes[index] for index in scores.argmax(dim=1).tolist()]

    def scores(self, support, support_labels, query) -> tuple[torch.Tensor, list]:
        """Class scores [queries, ways] and the label behind each column."""
        support_labels = list(support_labels)
        if len(support) == 0:
            raise ValueError("the support set is empty: give at least one labelled picture per class")
        if len(support_labels) != len(support):
            raise ValueError(
                f"the support set has {len(support)} pictures but {len(support_labels)} labels; "
                f"give one label per support picture"
            )
        if len(query) == 0:
            raise ValueError("the query set is empty: give at least one picture to label")
        classes = list(dict.fromkeys(support_labels))  # each distinct label once, in order of first appearance
        index_of = {label: index for index, label in enumerate(classes)}
        device = next(self.learner.parameters()).device
        support_x = self.images(support, "support").to(device)  # [support, C, H, W]
        query_x = self.images(query, "query").to(device)  # [queries, C, H, W]
        support_y = torch.tensor([index_of[label] for label in support_labels], device=device)
        return task_scores(self.learner, support_x, support_y, query_x), classes

    def images(self, pictures, role: str) -> torch.Tensor:
        """Paths, PIL images or tensors, as one float tensor [count, C, H, W] the learner can take."""
        if self.preprocessing is None:
            raise TypeError(
                f"this {self.learner.method} learner was trained on {self.dataset['name']}, which has no "
                f"pictures: call its adapt(support_x, support_y) with the task's tensors instead"
            )
        channels, size = self.dataset["image_shape"][0], self.dataset["image_shape"][1]
        arrays, tensor_sizes = [], set()
        for position, picture in enumerate(pictures):
            if isinstance(picture, (str, Path)):
                try:
                    with Image.open(picture) as opened:
                        picture = opened.copy()
                except (OSError, ValueError) as error:
                    raise ValueError(f"{role} picture {position} ({str(picture)!r}) cannot be read: {error}") from None
            if isinstance(picture, Image.Image):
                try:
                    arrays.append(torch.from_numpy(self.preprocessing(picture)).float() / 255)  # [C, S, S]
                except ValueError as error:
                    raise ValueError(f"{role} picture {position}: {error}") from None
            elif isinstance(picture, torch.Tensor):
                tensor = _checked_tensor(picture, f"{role} picture {position}")
                tensor = tensor[None] if tensor.dim() == 2 else tensor  # [C, H, W]
                if tensor.dim() != 3 or tensor.shape[0] != channels:
                    raise ValueError(
                        f"{role} picture {position} is a tensor of shape {tuple(picture.shape)}; "
                        f"expected [{channels}, H, W] or [H, W] with ink high in [0, 1]"
                    )
                tensor_sizes.add(tuple(tensor.shape[1:]))
                arrays.append(tensor)
            else:
                raise TypeError(
                    f"{role} picture {position} is a {type(picture).__name__}; give image paths, PIL images or tensors"
                )
        if len(tensor_sizes) > 1:
            listed = " and ".join(f"{h}x{w}" for h, w in sorted(tensor_sizes))
            raise ValueError(
                f"the {role} tensors have different sizes ({listed}); give tensors of one size, "
                f"or paths or PIL images, which are resized for you"
            )
        resized = [_resize(array, size) for array in arrays]
        return torch.stack(resized)


def _checked_tensor(picture: torch.Tensor, what: str) -> torch.Tensor:
    """A tensor picture as float32, refused unless it is what preprocessing makes: finite values in [0, 1], ink
    high (a uint8 picture of 0-255 values has not been preprocessed)."""
    if not (picture.is_floating_point() or picture.dtype == torch.bool):
        raise ValueError(
            f"{what} is a {picture.dtype} tensor; give a float tensor with ink high in [0, 1] (e.g. "
            f"a uint8 picture of 0-255 values divided by 255), or a path or PIL image"
        )
    tensor = picture.float()
    if tensor.numel() == 0:
        raise ValueError(f"{what} is an empty tensor of shape {tuple(picture.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{what} holds values that are not finite numbers (nan or infinity)")
    low, high = tensor.min().item(), tensor.max().item()
    if low < 0 or high > 1:
        raise ValueError(
            f"{what} has values from {low:g} to {high:g}; a tensor picture is taken as preprocessed, "
            f"with ink high in [0, 1] (give a path or PIL image to have it preprocessed)"
        )
    return tensor


def _resize(image: torch.Tensor, size: int) -> torch.Tensor:
    if image.shape[1:] == (size, size):
        return image
    return torch.nn.functional.interpolate(
        image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )[0]

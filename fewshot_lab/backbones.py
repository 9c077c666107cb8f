"""Embedding networks shared by every method.

conv4 is the standard backbone of the few-shot papers (Vinyals 2016, Snell 2017, Finn 2017):
four blocks of [3x3 conv with `hidden` channels, batch norm, ReLU, 2x2 max-pool]. On 28x28 inputs
the map shrinks 28 -> 14 -> 7 -> 3 -> 1, so the embedding has `hidden` features.
conv4_small halves the width (about four times less compute) for live demos on a laptop CPU.
Both are built in the channels-last memory format: every feature map after the first convolution is then
stored pixel by pixel with its channels together. PyTorch's CPU kernels (oneDNN convolutions, and
max-pooling above all) run a training step about 1.3 to 1.7 times faster in that layout than in the default one
(results/memory_format.md). It changes where numbers sit in memory, not which numbers are computed:
outputs agree with the default layout to float rounding.
Both are a Backbone: an nn.Sequential that can run its layers in a lower precision (compute_dtype, e.g. bfloat16
under torch.autocast) and still hand float32 features to the method on top. The training engine sets it for a run
with precision="bf16" (`fewshot-lab train --precision bf16`) and unsets it for validation, evaluation and saving;
weights, optimiser state and checkpoints stay float32 (results/precision.md measures what it buys).
mlp is the network of MAML's sinusoid regression (Finn et al. 2017): two hidden layers of 40 ReLU units,
here the body, followed by each method's own output layer.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from fewshot_lab.checks import check_positive_int

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}  # a training precision's name -> Backbone.compute_dtype


def default_device(device=None) -> torch.device:
    """`device` (a name or a torch.device) as a torch.device; by default CUDA when present, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Backbone(nn.Sequential):
    """nn.Sequential with an optional lower compute precision; the same parameters and state-dict keys.

    compute_dtype None (the default): plain float32. torch.bfloat16: the layers run under torch.autocast (convolutions
    and linear layers in bfloat16, on CPU and CUDA alike) and the output comes back in the input's precision (float32;
    float64 for a network in double precision, which autocast leaves as it is), so distances, prototypes and losses
    above the backbone keep full precision.
    """

    compute_dtype: torch.dtype | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.compute_dtype is None:
            return super().forward(x)
        with torch.autocast(x.device.type, dtype=self.compute_dtype):
            return super().forward(x).to(x.dtype)


def backbones_of(module: nn.Module) -> list[Backbone]:
    return [inner for inner in module.modules() if isinstance(inner, Backbone)]


@contextlib.contextmanager
def compute_precision(module: nn.Module, precision: str):
    """Run the block with every Backbone inside `module` computing in `precision` ("fp32", "bf16"), then back in the
    precision each computed in before, whatever happens inside."""
    backbones = backbones_of(module)
    before = [backbone.compute_dtype for backbone in backbones]
    for backbone in backbones:
        backbone.compute_dtype = PRECISIONS[precision]
    try:
        yield
    finally:
        for backbone, dtype in zip(backbones, before):
            backbone.compute_dtype = dtype


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


def conv4(in_channels: int = 1, hidden: int = 64) -> nn.Sequential:
    """[batch, in_channels, H, W] -> [batch, hidden * (H // 16) * (W // 16)]"""
    return Backbone(
        conv_block(in_channels, hidden),
        conv_block(hidden, hidden),
        conv_block(hidden, hidden),
        conv_block(hidden, hidden),
        nn.Flatten(),
    ).to(memory_format=torch.channels_last)


def conv4_small(in_channels: int = 1) -> nn.Sequential:
    return conv4(in_channels, hidden=32)


def mlp(in_features: int = 1, hidden: int = 40) -> nn.Sequential:
    """[batch, ...] -> [batch, hidden]: flatten, then two hidden layers of ReLU units."""
    return Backbone(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())


BACKBONES = {"conv4": conv4, "conv4-small": conv4_small, "mlp": mlp}


def make_backbone(name: str, in_channels: int = 1, image_size: int = 28) -> nn.Sequential:
    """The backbone `name` for inputs of in_channels x image_size x image_size (a vector of in_channels
    numbers when image_size is 1, as for sinusoid regression)."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}: choose one of {', '.join(BACKBONES)}")
    if name == "mlp":
        return mlp(in_channels * image_size * image_size)
    return BACKBONES[name](in_channels)


class ShiftedViews(nn.Module):
    """Test-time augmentation for a metric learner's embedding: the mean embedding of an image and its 8 copies
    shifted by `pixels` (up, down, left, right and the diagonals; what leaves one side comes back on the other,
    which on glyphs is blank background).

        learner.embedding = ShiftedViews(learner.embedding)   # after meta-training; prototypes and queries both

    A one-shot prototype then averages nine views of its single drawing instead of trusting one exact position.
    On omniglot-small meta-validation it raised a 3-minute ProtoNet's 5-way 1-shot accuracy by 2.9 points
    (paired over 2,000 val tasks; results/protonet_3min_omniglot_small.md). Meant for evaluation: in training mode
    batch norm would see the nine views as one batch.
    """

    def __init__(self, embedding: nn.Module, pixels: int = 1):
        super().__init__()
        check_positive_int("pixels (how far each view is shifted)", pixels)
        self.embedding, self.pixels = embedding, pixels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] <= 2 * self.pixels or images.shape[-2] <= 2 * self.pixels:
            raise ValueError(f"images of {tuple(images.shape[-2:])} pixels are too small to shift by {self.pixels}")
        steps = (-self.pixels, 0, self.pixels)
        shifts = [(down, right) for down in steps for right in steps]
        # one view at a time: a 20-way 5-shot task's nine views in one batch would hold nine times the activations
        embeddings = torch.stack([self.embedding(torch.roll(images, shift, dims=(-2, -1))) for shift in shifts])
        return embeddings.mean(0)  # embeddings: [9, batch, features] -> [batch, features]

"""Learning on sequence episodes (Santoro, Bartunov, Botvinick, Wierstra & Lillicrap 2016), section 7.6: what the
memory-augmented network (fewshot_lab.methods.mann) and its LSTM baseline share, and the baseline itself.

A sequence learner meta-learns on sequences (fewshot_lab.data.sequences): at step t it sees an image x_t and the
label of the previous step y_{t-1}, and must output y_t:

    h_t, c_t = LSTM([e(x_t), onehot(y_{t-1})], (h_{t-1}, c_{t-1}))     (the LSTM baseline's controller)
    p(y_t | x_1..t, y_1..t-1) = softmax(W_o h_t + b_o)                   (output)

and meta-training minimises sum_t -log p(y_t | ...) over whole episodes. The class-to-label mapping is shuffled
every episode, so the weights cannot hold the answer: they must learn *how* to bind an image to the label shown
one step later, and to look it up again. The LSTM baseline's only store for that is its cell state.

e(x) is one of
- encoder="pixels" (the default, the paper's input): the image resized to 20 x 20 pixels and flattened;
- encoder="conv": a small convolutional encoder trained with the rest (three stride-2 layers, cheap enough
  for 16 episodes of 50 images per step on a CPU; in our short runs it learned more slowly than pixels);
- encoder="conv4": the standard conv4 backbone (fewshot_lab.backbones), its 64 features scaled to length 8
  (entries of root mean square 1), meant to start from a pretrained embedding (`fewshot-lab train ...
  --init RUN` copies a saved run's `embedding`, e.g. of a k-NN run trained by classification over the
  meta-train classes) and, with freeze_encoder=True, kept fixed. This changes e(x) only, not what the network
  must learn. A frozen encoder is a fixed function of the image, so training computes the codes of every
  training image once and unrolls the sequences on them (the CLI refuses image-moving augmentation, which codes
  cannot follow).
results/mann_omniglot_small.md compares the encoders; build_learner's backbone is not used.

Learner protocol (fewshot_lab.learner): adapt reads the support set as a sequence (class by class in turn:
label 0, 1, ..., then each class's second drawing, ...), then presents each query as the next step
with the last support label, from the state the support set left. fewshot_lab.evaluation scores sequence
learners by presentation as well, as the paper reports them.
"""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.backbones import conv4
from fewshot_lab.checks import check_positive_int
from fewshot_lab.data.sequences import CodedBatches, EpisodeSequences, presentations
from fewshot_lab.data.tasks import MetaBatches
from fewshot_lab.evaluation import accuracy, evaluation_mode
from fewshot_lab.learner import Learner

ENCODERS = ("conv", "conv4", "pixels")
PIXEL_SIDE = 20  # the paper's images: 20 x 20 pixels, flattened
CONV_FEATURES = 32 * 4 * 4
CONV4_FEATURES = 64  # conv4 on 28 x 28 images: 64 channels x 1 x 1


def small_conv() -> nn.Sequential:
    """[batch, 1, 28, 28] -> [batch, 512]: three 3x3 stride-2 convolutions (16, 32, 32 channels) with batch norm
    and ReLU, 28 -> 14 -> 7 -> 4, flattened; about a tenth of conv4-small's work."""
    layers = []
    for channels_in, channels_out in ((1, 16), (16, 32), (32, 32)):
        layers += [
            nn.Conv2d(channels_in, channels_out, 3, stride=2, padding=1),
            nn.BatchNorm2d(channels_out),
            nn.ReLU(),
        ]
    return nn.Sequential(*layers, nn.Flatten())


def map_state(function, state):
    """Apply `function` to every tensor of a (nested) tuple of tensors, keeping its structure."""
    if isinstance(state, torch.Tensor):
        return function(state)
    mapped = [map_state(function, part) for part in state]
    return type(state)(*mapped) if hasattr(state, "_fields") else type(state)(mapped)


def run_steps(step, inputs: torch.Tensor, state, record: bool = False):
    """Apply step(inputs_t, state) -> (scores, state) to inputs [sequences, steps, features], one step after
    another. Returns the scores stacked [sequences, steps, ...], the final state, and (record=True) the state after
    every step, detached, else an empty list."""
    scores, trace = [], []
    for t in range(inputs.shape[1]):
        step_scores, state = step(inputs[:, t], state)
        scores.append(step_scores)
        if record:
            trace.append(map_state(lambda tensor: tensor.detach(), state))
    return torch.stack(scores, dim=1), state, trace


class SequenceLearner(Learner):
    """What MANN and the LSTM baseline share: the image encoder, the previous-label input, unrolling over a
    sequence, training on sequence episodes and the learner protocol (fewshot_lab.evaluation scores them by
    presentation too).

    Subclasses define initial_state(episodes) and step(inputs, state) -> (scores [episodes, ways], state).

    ways: label slots, the size of the one-hot label input and of the output; an episode may have fewer classes.
    instances: drawings of each class per training episode (the sequence has ways * instances steps).
    encoder: "pixels" (images resized to 20 x 20, flattened), "conv" (small_conv, trained with the rest) or
    "conv4" (the standard backbone, codes of length 8). All take 1-channel images (Omniglot, glyphs); conv4
    takes 28 x 28 ones.
    freeze_encoder: keep the conv or conv4 encoder fixed (start it from a pretrained run with --init);
    training then runs on precomputed codes.
    """

    sized_by_ways = True
    reads_sequences = True

    def __init__(self, ways: int = 5, instances: int = 10, encoder: str = "pixels", freeze_encoder: bool = False):
        super().__init__()
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}")
        if freeze_encoder and encoder == "pixels":
            raise ValueError("freeze_encoder applies to a learned encoder (conv or conv4); pixels has no weights")
        for name, value in (("ways", ways), ("instances", instances)):
            check_positive_int(name, value)
        if ways < 2:
            raise ValueError(f"ways (label slots) must be at least 2, got {ways}")
        self.embedding = {"conv": small_conv, "conv4": conv4}.get(encoder, lambda: None)()
        self.encoder, self.ways, self.instances, self.freeze_encoder = encoder, ways, instances, freeze_encoder
        self.input_features = {"conv": CONV_FEATURES, "conv4": CONV4_FEATURES}.get(encoder, PIXEL_SIDE * PIXEL_SIDE)
        if freeze_encoder:
            self.embedding.requires_grad_(False)

    def train(self, mode: bool = True):
        """A frozen encoder stays in evaluation mode (its batch-norm statistics are part of what was pretrained)."""
        super().train(mode)
        if self.freeze_encoder:
            self.embedding.eval()
        return self

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """e(x) for images [..., 1, H, W]: [..., input_features]."""
        flat = images.reshape(-1, *images.shape[-3:])  # [images, 1, H, W]
        if flat.shape[1] != 1:
            raise ValueError(f"the {self.method} encoders take 1-channel images, got {flat.shape[1]} channels")
        if self.encoder == "conv4":
            if flat.shape[-2:] != (28, 28):
                raise ValueError(f"the conv4 encoder takes 28 x 28 images, got {tuple(flat.shape[-2:])}")
            codes = nn.functional.normalize(self.embedding(flat), dim=-1) * CONV4_FEATURES**0.5  # [images, 64]
            return codes.reshape(*images.shape[:-3], CONV4_FEATURES)
        if self.embedding is not None:
            return self.embedding(flat).reshape(*images.shape[:-3], -1)
        small = nn.functional.interpolate(
            flat, size=(PIXEL_SIDE, PIXEL_SIDE), mode="bilinear", antialias=True, align_corners=False
        )  # [images, 1, 20, 20]
        return small.reshape(*images.shape[:-3], PIXEL_SIDE * PIXEL_SIDE)

    def check_ways(self, ways: int):
        if ways > self.ways:
            raise ValueError(
                f"episodes of {ways} classes need {ways} label slots, but this {self.method} learner "
                f"has ways={self.ways}; build it with ways={ways}"
            )

    def initial_state(self, episodes: int, device):
        raise NotImplementedError

    def step(self, inputs: torch.Tensor, state):
        raise NotImplementedError

    def unroll(self, images: torch.Tensor, labels: torch.Tensor, state=None, record: bool = False):
        """Run over sequences: images [episodes, steps, C, H, W] (or their codes e(x) [episodes, steps,
        input_features], precomputed by a frozen encoder), labels [episodes, steps] (y_t, shown at t + 1).

        Returns the scores [episodes, steps, ways], the final state, and (record=True) the state after
        every step, else an empty list.
        """
        encoded = images if images.dim() == 3 else self.encode(images)  # [episodes, steps, input_features]
        shown = nn.functional.one_hot(labels, self.ways).to(encoded.dtype)  # [episodes, steps, ways]
        previous = torch.cat([torch.zeros_like(shown[:, :1]), shown[:, :-1]], dim=1)  # onehot(y_{t-1}), 0 at t = 0
        inputs = torch.cat([encoded, previous], dim=-1)  # [episodes, steps, input_features + ways]
        state = self.initial_state(len(labels), images.device) if state is None else state
        return run_steps(self.step, inputs, state, record)

    def training_stream(self, dataset, ways: int, shots: int, queries: int, meta_batch: int, seed: int):
        """Batches of `meta_batch` sequence episodes of `ways` classes x `instances` drawings from the train split
        (shots and queries are not used: validation is by presentation, fewshot_lab.evaluation.validation_score).
        With a frozen encoder the batches carry the codes e(x) [meta_batch, steps, input_features] instead of
        the images, each image encoded once, when a batch first draws it."""
        self.check_ways(ways)
        batches = MetaBatches(
            EpisodeSequences(dataset, "train", ways=ways, instances=self.instances, seed=seed), meta_batch
        )
        if not self.freeze_encoder:
            return batches

        def frozen_codes(images: torch.Tensor) -> torch.Tensor:
            with evaluation_mode(self) as device, torch.no_grad():
                return self.encode(images.to(device)).cpu()  # [images, features]

        return CodedBatches(batches, frozen_codes, dataset)

    def training_loss(self, batch) -> tuple[torch.Tensor, float]:
        """The mean cross-entropy over every step of every episode, and the accuracy over all steps."""
        ways = batch.classes.shape[-1]
        scores = self.unroll(batch.images, batch.labels)[0][..., :ways]  # [episodes, steps, ways]
        loss = nn.functional.cross_entropy(scores.flatten(0, 1), batch.labels.flatten())
        return loss, accuracy(scores, batch.labels)

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        ways = int(support_y.max()) + 1
        self.check_ways(ways)
        order = torch.argsort(presentations(support_y) * ways + support_y)  # each class's 1st drawing, then 2nd, ...
        sequence_y = support_y[order]
        _, state, _ = self.unroll(support_x[order].unsqueeze(0), sequence_y.unsqueeze(0))
        last_label = nn.functional.one_hot(sequence_y[-1], self.ways).to(state[0].dtype)  # [ways]

        def scores(query_x: torch.Tensor) -> torch.Tensor:
            queries = len(query_x)
            inputs = torch.cat([self.encode(query_x), last_label.expand(queries, -1)], dim=1)
            from_support = map_state(lambda tensor: tensor.expand(queries, *tensor.shape[1:]), state)
            return self.step(inputs, from_support)[0][:, :ways]  # [queries, ways], each query on its own

        return scores


class LSTMBaseline(SequenceLearner):
    """The same controller and output without the external memory: the episode is held in the LSTM state only."""

    method = "lstm"

    def __init__(
        self,
        ways: int = 5,
        instances: int = 10,
        encoder: str = "pixels",
        freeze_encoder: bool = False,
        hidden: int = 200,
    ):
        super().__init__(ways, instances, encoder, freeze_encoder)
        self.controller = nn.LSTMCell(self.input_features + ways, hidden)
        self.output = nn.Linear(hidden, ways)

    def initial_state(self, episodes: int, device):
        zeros = torch.zeros(episodes, self.controller.hidden_size, device=device)
        return zeros, zeros

    def step(self, inputs: torch.Tensor, state):
        hidden, cell = self.controller(inputs, state)
        return self.output(hidden), (hidden, cell)

"""Memory-augmented neural networks (Santoro, Bartunov, Botvinick, Wierstra & Lillicrap 2016), section 7.6,
and the LSTM baseline they are compared with.

A MANN meta-learns on sequences (fewshot_lab.data.sequences): at step t it sees an image x_t and the
label of the previous step y_{t-1}, and must output y_t. Its LSTM controller reads and writes an external
memory M (fewshot_lab.methods.memory, Least Recently Used Access), and one step is

    h_t, c_t = LSTM([e(x_t), onehot(y_{t-1}), r_{t-1}], (h_{t-1}, c_{t-1}))     (controller)
    k_t = tanh(W_k h_t), beta_t = 1 + softplus(W_beta h_t), alpha_t = W_alpha h_t   (per read head)
    M_t, w^r_t, r_t = LRUA(M_{t-1}, k_t, beta_t, alpha_t)                         (write, then read by content)
    (with add_vectors=True each head writes a_t = tanh(W_a h_t) instead of k_t; with address_after_write=True
    the heads look for k_t in M_t, after this step's write, instead of in M_{t-1}; with write_to_last=True a gate
    delta_t = W_delta h_t lets each head write to the least-used slots of step t-1 as well)
    p(y_t | x_1..t, y_1..t-1) = softmax(W_o [h_t, r_t] + b_o)                      (output)

and meta-training minimises sum_t -log p(y_t | ...) over whole episodes (repeat_weight=W counts W times the steps
that show a class's second drawing right after its first: their label arrives at that very step). Two kinds of
learning happen at two speeds: the weights (controller, encoder, output) change slowly, by gradient descent across
episodes; the memory changes fast, within one episode, with no gradient step, and is wiped at the start of the next.
Because the class-to-label mapping is shuffled every episode, the weights cannot hold the answer: they
must learn *how* to bind an image to the label shown one step later, and to look it up again.

The LSTM baseline is the same network without memory: its only store is the controller's cell state.

Sizes follow the paper: controller 200 units, memory 128 x 40, 4 read heads, usage decay gamma = 0.95.
e(x) is one of
- encoder="pixels" (the default, the paper's input): the image resized to 20 x 20 pixels and flattened;
- encoder="conv": a small convolutional encoder trained with the rest (three stride-2 layers, cheap enough
  for 16 episodes of 50 images per step on a CPU; in our short runs it learned more slowly than pixels);
- encoder="conv4": the standard conv4 backbone (fewshot_lab.backbones), its 64 features scaled to length 8
  (entries of root mean square 1), meant to start from a pretrained embedding (`fewshot-lab train ...
  --init RUN` copies a saved run's `embedding`, e.g. of a k-NN run trained by classification over the
  meta-train classes) and, with freeze_encoder=True, kept fixed. This changes e(x) only, not the memory:
  the controller still has to learn to bind a code to the label shown one step later and to find it again.
  A frozen encoder is a fixed function of the image, so training computes the codes of every training image
  once and unrolls the sequences on them (the CLI refuses image-moving augmentation, which codes cannot follow).
results/mann_omniglot_small.md compares the encoders. build_learner's backbone is not used. The key strengths
beta_t start near 11 (the bias of their output is 10), so that the first reads are already sharp: with beta = 1 a
softmax over 128 cosines is almost flat, and training sat at chance much longer in our runs.

Learner protocol (fewshot_lab.learner): adapt reads the support set as a sequence (class by class in turn:
label 0, 1, ..., then each class's second drawing, ...), then presents each query as the next step
with the last support label, from the memory and controller state the support set left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from fewshot_lab.backbones import conv4
from fewshot_lab.data.sequences import EpisodeSequences, SequenceEpisode, immediate_repeats, presentations
from fewshot_lab.data.tasks import MetaBatches
from fewshot_lab.evaluation import Evaluation, confidence_interval
from fewshot_lab.learner import Learner, evaluation_mode
from fewshot_lab.methods.memory import LRUAMemory

ENCODERS = ("conv", "conv4", "pixels")
PIXEL_SIDE = 20  # the paper's images: 20 x 20 pixels, flattened
STRENGTH_BIAS = 10.0  # initial bias of the key strengths' output (see the module docstring)
CONV_FEATURES = 32 * 4 * 4
CONV4_FEATURES = 64  # conv4 on 28 x 28 images: 64 channels x 1 x 1
CODE_BATCH = 1000  # images encoded at once when a frozen encoder precomputes the training codes


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


def _map_state(function, state):
    """Apply `function` to every tensor of a (nested) tuple of tensors, keeping its structure."""
    if isinstance(state, torch.Tensor):
        return function(state)
    mapped = [_map_state(function, part) for part in state]
    return type(state)(*mapped) if hasattr(state, "_fields") else type(state)(mapped)


@dataclass
class PresentationAccuracy:
    """Accuracy by instance presentation (Santoro et al.'s table): column k is the accuracy on the k-th drawing
    of each class in an episode, over `episodes` seeded episodes."""

    values: np.ndarray = field(repr=False)  # [episodes, instances], one value per episode and presentation
    dataset: str = ""
    split: str = "test"
    ways: int = 5
    instances: int = 10
    episodes: int = 100
    seed: int | None = 0

    @property
    def mean(self) -> np.ndarray:
        return self.values.mean(axis=0)  # [instances]

    @property
    def ci95(self) -> np.ndarray:
        return np.array([confidence_interval(column) for column in self.values.T])  # [instances]

    @property
    def protocol(self) -> str:
        return (
            f"{self.ways} classes x {self.instances} instances, {self.episodes} {self.split} episodes of "
            f"{self.dataset}, seed {self.seed}"
        )

    def table(self) -> str:
        """A header of presentation numbers and one row of accuracies in %, as in the paper."""
        header = " ".join(f"{_ordinal(k + 1):>6}" for k in range(self.instances))
        row = " ".join(f"{100 * value:6.1f}" for value in self.mean)
        return f"{header}\n{row}"

    def __str__(self) -> str:
        margin = 100 * float(np.nanmax(self.ci95)) if self.episodes > 1 else float("nan")
        return f"accuracy by presentation (%), {self.protocol}; 95% CI at most ±{margin:.1f}\n{self.table()}"

    def to_dict(self) -> dict:
        return {
            "metric": "accuracy by presentation",
            "mean": self.mean.tolist(),
            "ci95": self.ci95.tolist(),
            "values": self.values.tolist(),
            "dataset": self.dataset,
            "split": self.split,
            "ways": self.ways,
            "instances": self.instances,
            "episodes": self.episodes,
            "seed": self.seed,
        }


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


class SequenceLearner(Learner):
    """What MANN and the LSTM baseline share: the image encoder, the previous-label input, unrolling over a
    sequence, training on sequence episodes, the learner protocol and accuracy by presentation.

    Subclasses define initial_state(episodes) and step(inputs, state) -> (scores [episodes, ways], state).

    embedding: ignored (build_learner passes every method its backbone); the encoder is chosen by `encoder`.
    ways: label slots, the size of the one-hot label input and of the output; an episode may have fewer classes.
    instances: drawings of each class per training episode (the sequence has ways * instances steps).
    encoder: "pixels" (images resized to 20 x 20, flattened), "conv" (small_conv, trained with the rest) or
    "conv4" (the standard backbone, codes of length 8). All take 1-channel images (Omniglot, glyphs); conv4
    takes 28 x 28 ones.
    freeze_encoder: keep the conv or conv4 encoder fixed (start it from a pretrained run with --init);
    training then runs on precomputed codes.
    repeat_weight: how many times the training loss counts an immediate repeat, a class's second drawing shown
    right after its first (fewshot_lab.data.sequences.immediate_repeats); every other step counts once, and the
    loss is the weighted mean. 1 (the default) is the paper's plain mean over all steps.
    """

    def __init__(
        self,
        embedding: nn.Module | None = None,
        ways: int = 5,
        instances: int = 10,
        encoder: str = "pixels",
        freeze_encoder: bool = False,
        repeat_weight: float = 1.0,
    ):
        super().__init__()
        if (
            isinstance(repeat_weight, bool)
            or not isinstance(repeat_weight, (int, float))
            or not 0 < repeat_weight < math.inf
        ):
            raise ValueError(
                f"repeat_weight (how many times the loss counts an immediate repeat) must be a positive "
                f"number, got {repeat_weight!r}"
            )
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}")
        if freeze_encoder and encoder == "pixels":
            raise ValueError("freeze_encoder applies to a learned encoder (conv or conv4); pixels has no weights")
        for name, value in (("ways", ways), ("instances", instances)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if ways < 2:
            raise ValueError(f"ways (label slots) must be at least 2, got {ways}")
        self.embedding = {"conv": small_conv, "conv4": conv4}.get(encoder, lambda: None)()
        self.encoder, self.ways, self.instances, self.freeze_encoder = encoder, ways, instances, freeze_encoder
        self.repeat_weight = float(repeat_weight)
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
        episodes, steps = labels.shape
        encoded = images if images.dim() == 3 else self.encode(images)  # [episodes, steps, input_features]
        shown = nn.functional.one_hot(labels, self.ways).to(encoded.dtype)  # [episodes, steps, ways]
        previous = torch.cat([torch.zeros_like(shown[:, :1]), shown[:, :-1]], dim=1)  # onehot(y_{t-1}), 0 at t = 0
        inputs = torch.cat([encoded, previous], dim=-1)  # [episodes, steps, input_features + ways]
        state = self.initial_state(episodes, images.device) if state is None else state
        scores, trace = [], []
        for t in range(steps):
            step_scores, state = self.step(inputs[:, t], state)
            scores.append(step_scores)
            if record:
                trace.append(_map_state(lambda tensor: tensor.detach(), state))
        return torch.stack(scores, dim=1), state, trace

    def training_stream(self, dataset, ways: int, shots: int, queries: int, meta_batch: int, seed: int):
        """Batches of `meta_batch` sequence episodes of `ways` classes x `instances` drawings from the train split
        (shots and queries are not used: validation is by presentation, see validation_score).
        With a frozen encoder the batches carry the codes e(x) [meta_batch, steps, input_features] instead of
        the images, computed once for every image of the dataset."""
        self.check_ways(ways)
        batches = MetaBatches(
            EpisodeSequences(dataset, "train", ways=ways, instances=self.instances, seed=seed), meta_batch
        )
        return CodedBatches(batches, self.image_codes(dataset)) if self.freeze_encoder else batches

    def image_codes(self, dataset) -> torch.Tensor:
        """e(x) of every image of `dataset`, [images, input_features], by the (frozen) encoder in evaluation mode."""
        with evaluation_mode(self) as device, torch.no_grad():
            codes = [
                self.encode(
                    dataset.as_float(torch.arange(start, min(start + CODE_BATCH, len(dataset.images)))).to(device)
                ).cpu()
                for start in range(0, len(dataset.images), CODE_BATCH)
            ]
        return torch.cat(codes)

    def validation_score(self, dataset, *, ways: int, shots: int, queries: int, episodes: int, seed: int) -> Evaluation:
        """Meta-training keeps the weights that do best in Santoro et al.'s protocol, the one these networks are built
        for and reported in: the mean accuracy over the 2nd to the last presentation of each class (the 1st can
        only be guessed) in `episodes` seeded val sequences of `ways` classes x `instances` drawings. shots and
        queries are not used. (Scoring them by the learner protocol instead, 5-way 1-shot tasks read as a support
        sequence, chose an early checkpoint that was 5 points worse at the 2nd presentation on 1000 val episodes.)"""
        result = self.accuracy_by_presentation(
            dataset, ways=ways, instances=self.instances, episodes=episodes, split="val", seed=seed
        )
        values = result.values[:, 1:].mean(axis=1) if self.instances > 1 else result.values.mean(axis=1)
        return Evaluation(
            "accuracy",
            float(values.mean()),
            confidence_interval(values),
            values,
            dataset=result.dataset,
            split="val",
            ways=ways,
            shots=1,
            queries=self.instances - 1,
            episodes=episodes,
            seed=seed,
        )

    def training_loss(self, batch) -> tuple[torch.Tensor, float]:
        """The mean cross-entropy over every step of every episode (immediate repeats counted repeat_weight
        times), and the accuracy over all steps."""
        ways = batch.classes.shape[-1]
        scores = self.unroll(batch.images, batch.labels)[0][..., :ways]  # [episodes, steps, ways]
        accuracy = (scores.argmax(-1) == batch.labels).float().mean().item()
        if self.repeat_weight == 1:
            return nn.functional.cross_entropy(scores.flatten(0, 1), batch.labels.flatten()), accuracy
        losses = nn.functional.cross_entropy(scores.flatten(0, 1), batch.labels.flatten(), reduction="none")
        weights = 1 + (self.repeat_weight - 1) * immediate_repeats(batch.labels).flatten().to(losses.dtype)
        return (weights * losses).sum() / weights.sum(), accuracy

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
            from_support = _map_state(lambda tensor: tensor.expand(queries, *tensor.shape[1:]), state)
            return self.step(inputs, from_support)[0][:, :ways]  # [queries, ways], each query on its own

        return scores

    def accuracy_by_presentation(
        self,
        dataset,
        ways: int | None = None,
        instances: int = 10,
        episodes: int = 100,
        split: str = "test",
        seed: int | None = 0,
        batch: int = 50,
    ) -> PresentationAccuracy:
        """Accuracy on the 1st, 2nd, ... drawing of each class over `episodes` seeded sequence episodes of `split`
        (the same seed gives every learner the same episodes); `ways` defaults to the learner's label slots."""
        self.check_ways(ways or self.ways)

        def correct(chunk, ways):
            scores = self.unroll(chunk.images, chunk.labels)[0][..., :ways]
            return (scores.argmax(-1) == chunk.labels).double()  # [episodes, steps]

        return self._by_presentation(correct, dataset, ways, instances, episodes, split, seed, batch)

    def recall_bound_by_presentation(
        self,
        dataset,
        ways: int | None = None,
        instances: int = 10,
        episodes: int = 100,
        split: str = "test",
        seed: int | None = 0,
        batch: int = 50,
    ) -> PresentationAccuracy:
        """What a perfect memory of this learner's code e(x) would score on the same episodes as
        accuracy_by_presentation: each drawing is given the label of the most cosine-similar image shown before it
        in the episode (every earlier image's label has been shown by then), and a class's 1st drawing, which
        nothing can recall, the best guess, one of the labels not shown yet (expected accuracy 1 / their number).
        The gap between this and the learner's accuracy is what the learner fails to store or retrieve. It is the
        nearest-neighbour rule, not a ceiling: comparing a drawing with everything shown of a class can do better.
        It reads the code alone, so `ways` may exceed the learner's label slots."""

        def correct(chunk, ways):
            codes = nn.functional.normalize(self.encode(chunk.images), dim=-1)  # [episodes, steps, features]
            similarity = codes @ codes.transpose(1, 2)  # [episodes, steps, steps]
            steps = similarity.shape[-1]
            earlier = torch.ones(steps, steps, dtype=torch.bool, device=similarity.device).tril(-1)  # j < t
            nearest = similarity.masked_fill(~earlier, -math.inf).argmax(-1)  # [episodes, steps]
            recalled = (chunk.labels.gather(1, nearest) == chunk.labels).double()
            first = presentations(chunk.labels) == 1
            labels_shown = first.long().cumsum(1) - first.long()  # distinct labels before step t
            return torch.where(first, 1.0 / (ways - labels_shown).double(), recalled)

        return self._by_presentation(correct, dataset, ways, instances, episodes, split, seed, batch)

    def _by_presentation(self, correct, dataset, ways, instances, episodes, split, seed, batch) -> PresentationAccuracy:
        """Mean of correct(chunk, ways) [episodes, steps] over each class's k-th drawing, for seeded episodes."""
        ways = ways or self.ways
        if not isinstance(episodes, int) or episodes < 1:
            raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
        sequences = EpisodeSequences(dataset, split, ways=ways, instances=instances, seed=seed)
        values = []
        with evaluation_mode(self) as device, torch.no_grad():
            for start in range(0, episodes, batch):
                chunk = sequences.sample_batch(min(batch, episodes - start)).to(device)
                number = presentations(chunk.labels) - 1  # [episodes, steps], 0-based
                totals = torch.zeros(len(chunk.labels), instances, dtype=torch.float64, device=number.device)
                values.append((totals.scatter_add_(1, number, correct(chunk, ways)) / ways).cpu())
        return PresentationAccuracy(
            torch.cat(values).numpy(),
            dataset=getattr(dataset, "name", ""),
            split=split,
            ways=ways,
            instances=instances,
            episodes=episodes,
            seed=seed,
        )


class CodedBatches:
    """A stream of sequence-episode batches whose images are replaced by their precomputed codes
    (codes [images, features], one row per dataset image). AffineStream leaves them alone (they are not
    images), which is why the CLI refuses image-moving augmentation with a frozen encoder."""

    def __init__(self, batches: MetaBatches, codes: torch.Tensor):
        self.batches, self.codes = batches, codes

    def sample(self) -> SequenceEpisode:
        batch = self.batches.sample()
        return SequenceEpisode(
            images=self.codes[batch.indices], labels=batch.labels, classes=batch.classes, indices=batch.indices
        )  # images: [episodes, steps, features]

    def state_dict(self) -> dict:
        return self.batches.state_dict()

    def load_state_dict(self, state: dict):
        self.batches.load_state_dict(state)


class MemoryAugmentedNetwork(SequenceLearner):
    """MANN with an LSTM controller and an LRUA memory (Santoro et al. 2016).

    hidden: controller units; slots x width: the memory; heads: read heads (each writes too); gamma: usage decay.
    add_vectors: each head writes a separate add vector a_t = tanh(W_a h_t) instead of its key k_t (eq. 8 of the
    paper writes the key). What is stored is then decoupled from how it is looked up: the controller can write
    the previous image's code with the label that has just arrived while it reads with the current image's.
    address_after_write: the read heads compare their keys with the memory after this step's write (M_t, as in
    eqs. 2-4 of the paper) instead of before it (fewshot_lab.methods.memory explains both); meant with add_vectors.
    write_to_last: not in the paper; each head has a second gate delta_t = W_delta h_t and may also write to the
    least-used slots the last step wrote to (LRUAMemory.forward's last_gates). The label of a drawing arrives one
    step after the drawing, so this lets a head add it to the code stored then, where the heads, which look in
    M_{t-1}, can find it at once: a class's second drawing shown right after its first is then answerable from
    memory.
    """

    method = "mann"

    def __init__(
        self,
        embedding: nn.Module | None = None,
        ways: int = 5,
        instances: int = 10,
        encoder: str = "pixels",
        freeze_encoder: bool = False,
        hidden: int = 200,
        slots: int = 128,
        width: int = 40,
        heads: int = 4,
        gamma: float = 0.95,
        add_vectors: bool = False,
        address_after_write: bool = False,
        repeat_weight: float = 1.0,
        write_to_last: bool = False,
    ):
        super().__init__(embedding, ways, instances, encoder, freeze_encoder, repeat_weight)
        self.memory = LRUAMemory(slots, width, heads, gamma, address_after_write=address_after_write)
        self.add_vectors, self.write_to_last = add_vectors, write_to_last
        self.controller = nn.LSTMCell(self.input_features + ways + heads * width, hidden)
        # keys k_t, strengths beta_t, gates alpha_t (and add vectors a_t, and gates delta_t)
        self.interface = nn.Linear(
            hidden, heads * ((2 if add_vectors else 1) * width + 2 + (1 if write_to_last else 0))
        )
        with torch.no_grad():
            self.interface.bias[heads * width : heads * (width + 1)] = STRENGTH_BIAS  # beta_t = 1 + softplus(10 + ...)
        self.output = nn.Linear(hidden + heads * width, ways)

    def initial_state(self, episodes: int, device):
        zeros = torch.zeros(episodes, self.controller.hidden_size, device=device)
        return zeros, zeros, self.memory.initial_state(episodes, device)

    def step(self, inputs: torch.Tensor, state):
        hidden, cell, memory = state
        heads, width = self.memory.heads, self.memory.width
        hidden, cell = self.controller(torch.cat([inputs, memory.reads.flatten(1)], dim=1), (hidden, cell))
        sizes = (
            [heads * width, heads, heads]
            + ([heads * width] if self.add_vectors else [])
            + ([heads] if self.write_to_last else [])
        )
        keys, strengths, gates, *extra = self.interface(hidden).split(sizes, dim=1)
        contents = torch.tanh(extra[0]).view(-1, heads, width) if self.add_vectors else None
        last_gates = torch.sigmoid(extra[-1]) if self.write_to_last else None
        memory = self.memory(
            memory,
            torch.tanh(keys).view(-1, heads, width),
            1 + nn.functional.softplus(strengths),
            torch.sigmoid(gates),
            contents,
            last_gates,
        )
        scores = self.output(torch.cat([hidden, memory.reads.flatten(1)], dim=1))  # [episodes, ways]
        return scores, (hidden, cell, memory)


class LSTMBaseline(SequenceLearner):
    """The same controller and output without the external memory: the episode is held in the LSTM state only."""

    method = "lstm"

    def __init__(
        self,
        embedding: nn.Module | None = None,
        ways: int = 5,
        instances: int = 10,
        encoder: str = "pixels",
        freeze_encoder: bool = False,
        hidden: int = 200,
        repeat_weight: float = 1.0,
    ):
        super().__init__(embedding, ways, instances, encoder, freeze_encoder, repeat_weight)
        self.controller = nn.LSTMCell(self.input_features + ways, hidden)
        self.output = nn.Linear(hidden, ways)

    def initial_state(self, episodes: int, device):
        zeros = torch.zeros(episodes, self.controller.hidden_size, device=device)
        return zeros, zeros

    def step(self, inputs: torch.Tensor, state):
        hidden, cell = self.controller(inputs, state)
        return self.output(hidden), (hidden, cell)

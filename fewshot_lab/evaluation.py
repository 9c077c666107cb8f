"""The evaluation protocols every method and notebook reports through.

A learner (fewshot_lab.learner) is scored on a fixed, seeded set of tasks from one meta-split (the test split by
default): mean accuracy over 600 tasks (mean squared error for regression) with a 95% confidence interval,
1.96 * std / sqrt(tasks), as the papers report it (../shared/docs/REFERENCES.md). The copy task is scored by bit
errors per sequence (METRICS), stories by the accuracy of the answers. Sequence learners (MANN, LSTM) are also scored
as Santoro et al. report them, by presentation (accuracy_by_presentation). This module owns how a learner is
scored: evaluation mode, autograd during adaptation, the metrics.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from fewshot_lab.checks import check_positive_int
from fewshot_lab.data import holds_images, make_sampler
from fewshot_lab.data.sequences import EpisodeSequences, presentations


@dataclass
class Evaluation:
    metric: str  # "accuracy" (a fraction in [0, 1]), "mse" or "bit errors" (per sequence): see METRICS
    mean: float
    ci95: float  # half-width of the 95% confidence interval of the mean
    values: np.ndarray = field(repr=False)  # [episodes], one value per task
    dataset: str = ""
    split: str = "test"
    ways: int | None = None
    shots: int = 1
    queries: int = 15
    episodes: int = 600
    seed: int | None = 0
    within_alphabet: bool = False
    tasks: str = ""  # what a task of a generated family is, e.g. "sequences of length 20"; "": ways, shots, queries

    @property
    def protocol(self) -> str:
        shape = f"{self.shots}-shot" if self.ways is None else f"{self.ways}-way {self.shots}-shot"
        tasks = self.tasks or f"{shape}, {self.queries} queries"
        where = ", within alphabet" if self.within_alphabet else ""
        return f"{tasks}, {self.episodes} {self.split} tasks of {self.dataset}{where}, seed {self.seed}"

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER

    def __str__(self) -> str:
        if self.metric == "accuracy":
            return f"{100 * self.mean:.2f}% ± {100 * self.ci95:.2f}% ({self.protocol}; 95% CI)"
        if self.metric == "bit errors":
            return f"{self.mean:.2f} ± {self.ci95:.2f} bit errors per sequence ({self.protocol}; 95% CI)"
        return f"MSE {self.mean:.3f} ± {self.ci95:.3f} ({self.protocol}; 95% CI)"

    def to_dict(self) -> dict:
        record = asdict(self)
        record["values"] = self.values.tolist()
        return record


def confidence_interval(values) -> float:
    """Half-width of the 95% confidence interval of the mean of per-task values."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return math.nan
    return float(1.96 * values.std(ddof=1) / math.sqrt(len(values)))


def check_protocol(episodes: int, queries: int):
    """Refuse a number of tasks or of queries that could score nothing (a mean of no values is nan)."""
    check_positive_int("episodes", episodes)
    if isinstance(queries, bool) or not isinstance(queries, int) or queries < 1:
        raise ValueError(f"queries must be at least 1: a task is scored on its queries, got {queries!r}")


def accuracy(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of predictions (the highest of scores [..., classes]) equal to labels [...]; nan for regression
    (float targets)."""
    if labels.is_floating_point():
        return math.nan
    return (scores.argmax(dim=-1) == labels).float().mean().item()


def bit_errors(scores: torch.Tensor, targets: torch.Tensor) -> float:
    """The recalled bits (a score above 0: probability above 1/2) that differ from the target bits, counted over a
    whole sequence (the copy task)."""
    return ((scores > 0) != (targets > 0.5)).sum().item()


def mean_squared_error(scores: torch.Tensor, targets: torch.Tensor) -> float:
    return torch.mean((scores - targets) ** 2).item()


METRICS = {  # name -> the value of one task from its query scores and targets
    "accuracy": accuracy,
    "mse": mean_squared_error,
    "bit errors": bit_errors,
}
LOWER_IS_BETTER = ("mse", "bit errors")
METRIC_WORDS = {"accuracy": "accuracy", "mse": "mean squared error", "bit errors": "bit errors per sequence"}
TASK_FAMILIES = {  # what each value of task_family (fewshot_lab.learner) means, in the words of a caller
    None: "image classification or regression tasks",
    "copy": "the copy task (dataset copy)",
    "stories": "stories with questions (datasets babi-1 and babi-2)",
}


def metric_of(dataset) -> str:
    """The metric a dataset's tasks are scored by: its own (the copy task: bit errors), else mean squared error for
    regression and accuracy for classification."""
    return getattr(dataset, "metric", "mse" if getattr(dataset, "is_regression", False) else "accuracy")


def describe_score(metric: str, value: float) -> str:
    """A score in words, e.g. "accuracy 97.25%" or "bit errors per sequence 0.12"."""
    shown = f"{100 * value:.2f}%" if metric == "accuracy" else f"{value:.3f}"
    return f"{METRIC_WORDS[metric]} {shown}"


def check_task_family(learner, dataset):
    """Refuse a learner built for other tasks than the dataset's: the NTM copies bit sequences, a memory network
    answers questions about stories, the other methods classify images (or regress)."""
    built_for, held = getattr(learner, "task_family", None), getattr(dataset, "task_family", None)
    if built_for != held:
        raise ValueError(
            f"{getattr(learner, 'method', type(learner).__name__)} learners take {TASK_FAMILIES[built_for]}, but "
            f"{getattr(dataset, 'name', 'this dataset')} holds {TASK_FAMILIES[held]}"
        )


@contextlib.contextmanager
def evaluation_mode(module):
    """Run the block with `module` in eval mode (batch norm uses its running statistics and changes
    nothing), then give it back its own mode; yields the device its parameters live on."""
    was_training = module.training
    module.eval()
    try:
        yield next((parameter.device for parameter in module.parameters()), torch.device("cpu"))
    finally:
        if was_training:
            module.train()


@contextlib.contextmanager
def each_image_embedded_once(learner, dataset, tasks, device: torch.device):
    """Tasks of images for a learner that compares embeddings, each image embedded once: every image the tasks use
    goes through learner.embedding one time, the tasks carry those embeddings in place of their images, and the
    learner's embedding is the identity until the block ends. In evaluation mode batch norm normalises with its
    running statistics, so an image's embedding does not depend on the images beside it in a batch (up to float
    rounding): the scores are those of embedding every task's images, for far fewer embeddings (600 5-way 1-shot
    tasks of 15 queries show 48,000 images; the test split of omniglot-small holds 780)."""
    kept = [replace(task, support_x=None, query_x=None) for task in tasks]  # labels and image indices only
    used = torch.unique(torch.cat([torch.cat([task.support_index, task.query_index]) for task in kept]))  # sorted
    embedding = learner.embedding
    with torch.no_grad():  # the tasks' scores are detached: no graph for the embeddings either
        features = torch.cat(
            [embedding(dataset.as_float(chunk).to(device)) for chunk in used.split(256)]
        )  # [images used, features]
    learner.embedding = torch.nn.Identity()
    try:
        yield (
            replace(
                task,
                support_x=features[torch.searchsorted(used, task.support_index)],  # [ways * shots, features]
                query_x=features[torch.searchsorted(used, task.query_index)],  # [ways * queries, features]
            )
            for task in kept
        )
    finally:
        learner.embedding = embedding


def task_scores(learner, support_x: torch.Tensor, support_y: torch.Tensor, query_x: torch.Tensor) -> torch.Tensor:
    """Scores of a query set after adapting to a support set, [queries, ways] (autograd only where adapt needs it,
    and the scores detached)."""
    with torch.set_grad_enabled(learner.adapts_with_gradients):
        return learner.adapt(support_x, support_y)(query_x).detach()


def evaluate(
    learner,
    dataset,
    *,
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    episodes: int = 600,
    split: str = "test",
    within_alphabet: bool = False,
    seed: int | None = 0,
    device=None,
    progress: bool = False,
) -> Evaluation:
    """Score `learner` on `episodes` seeded tasks of `dataset` (same seed, same tasks, for every learner).

    `learner` follows the learner protocol (fewshot_lab.learner): learner.adapt(support_x, support_y)
    returns a model of the task that maps query_x to class scores [queries, ways], to predictions
    [queries, 1] for regression, to bit scores [length, bits] for the copy task (scored by bit errors per sequence;
    shots is the length) or to word scores [questions, vocabulary] for stories (shots sentences, queries questions).
    """
    check_protocol(episodes, queries)
    if not hasattr(learner, "adapt"):
        raise TypeError(
            f"{type(learner).__name__} does not follow the learner protocol: it has no adapt(support_x, support_y)"
        )
    check_task_family(learner, dataset)
    metric, images = metric_of(dataset), holds_images(dataset)
    sampler = make_sampler(
        dataset, split, ways=ways, shots=shots, queries=queries, within_alphabet=within_alphabet, seed=seed
    )
    values = np.empty(episodes)
    with evaluation_mode(learner) as learner_device:
        device = torch.device(device) if device is not None else learner_device
        tasks = sampler.take(episodes)
        if getattr(learner, "compares_embeddings", False) and images:
            scored = each_image_embedded_once(learner, dataset, tasks, device)
        else:
            scored = contextlib.nullcontext(tasks)
        with scored as tasks:
            for index, task in enumerate(
                tqdm(tasks, total=episodes, disable=not progress, desc=f"evaluating on {split} tasks")
            ):
                task = task.to(device)
                scores = task_scores(learner, task.support_x, task.support_y, task.query_x)
                values[index] = METRICS[metric](scores, task.query_y)
    return Evaluation(
        metric,
        float(values.mean()),
        confidence_interval(values),
        values,
        dataset=getattr(dataset, "name", type(dataset).__name__),
        split=split,
        ways=ways if images else None,
        shots=shots,
        queries=queries,
        episodes=episodes,
        seed=seed,
        within_alphabet=within_alphabet,
        tasks="" if images or getattr(dataset, "is_regression", False) else dataset.describe(shots, queries),
    )


def validation_score(learner, dataset, *, ways: int, shots: int, queries: int, episodes: int, seed: int) -> Evaluation:
    """What meta-training keeps the best weights by (higher accuracy, lower mean squared error or bit errors): the
    learner protocol on `episodes` seeded tasks of the val split, or, for a learner that reads sequences, Santoro et
    al.'s protocol, the one those networks are built for and reported in: the mean accuracy over the 2nd to the last
    presentation of each class (the 1st can only be guessed) in `episodes` seeded val sequences of `ways` classes x
    learner.instances drawings, where shots and queries are not used. (Scoring a sequence learner by the learner
    protocol instead, 5-way 1-shot tasks read as a support sequence, chose an early checkpoint that was 5 points
    worse at the 2nd presentation on 1000 val episodes.)"""
    if not learner.reads_sequences:
        return evaluate(
            learner, dataset, ways=ways, shots=shots, queries=queries, episodes=episodes, split="val", seed=seed
        )
    instances = learner.instances
    result = accuracy_by_presentation(
        learner, dataset, ways=ways, instances=instances, episodes=episodes, split="val", seed=seed
    )
    values = result.values[:, 1:].mean(axis=1) if instances > 1 else result.values.mean(axis=1)
    return Evaluation(
        "accuracy",
        float(values.mean()),
        confidence_interval(values),
        values,
        dataset=result.dataset,
        split="val",
        ways=ways,
        shots=1,
        queries=instances - 1,
        episodes=episodes,
        seed=seed,
    )


# ---- by presentation: the protocol of memory-augmented networks (Santoro et al. 2016) ------------------------


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


def accuracy_by_presentation(
    learner,
    dataset,
    ways: int | None = None,
    instances: int = 10,
    episodes: int = 100,
    split: str = "test",
    seed: int | None = 0,
    batch: int = 50,
) -> PresentationAccuracy:
    """Accuracy of a sequence learner (MANN, LSTM) on the 1st, 2nd, ... drawing of each class over `episodes` seeded
    sequence episodes of `split` (the same seed gives every learner the same episodes); `ways` defaults to the
    learner's label slots."""
    learner.check_ways(ways or learner.ways)

    def correct(chunk, ways):
        scores = learner.unroll(chunk.images, chunk.labels)[0][..., :ways]
        return (scores.argmax(-1) == chunk.labels).double()  # [episodes, steps]

    return _by_presentation(correct, learner, dataset, ways, instances, episodes, split, seed, batch)


def recall_bound_by_presentation(
    learner,
    dataset,
    ways: int | None = None,
    instances: int = 10,
    episodes: int = 100,
    split: str = "test",
    seed: int | None = 0,
    batch: int = 50,
) -> PresentationAccuracy:
    """What a perfect memory of a sequence learner's code e(x) would score on the same episodes as
    accuracy_by_presentation: each drawing is given the label of the most cosine-similar image shown before it
    in the episode (every earlier image's label has been shown by then), and a class's 1st drawing, which
    nothing can recall, the best guess, one of the labels not shown yet (expected accuracy 1 / their number).
    The gap between this and the learner's accuracy is what the learner fails to store or retrieve. It is the
    nearest-neighbour rule, not a ceiling: comparing a drawing with everything shown of a class can do better.
    It reads the code alone, so `ways` may exceed the learner's label slots."""

    def correct(chunk, ways):
        codes = torch.nn.functional.normalize(learner.encode(chunk.images), dim=-1)  # [episodes, steps, features]
        similarity = codes @ codes.transpose(1, 2)  # [episodes, steps, steps]
        steps = similarity.shape[-1]
        earlier = torch.ones(steps, steps, dtype=torch.bool, device=similarity.device).tril(-1)  # j < t
        nearest = similarity.masked_fill(~earlier, -math.inf).argmax(-1)  # [episodes, steps]
        recalled = (chunk.labels.gather(1, nearest) == chunk.labels).double()
        first = presentations(chunk.labels) == 1
        labels_shown = first.long().cumsum(1) - first.long()  # distinct labels before step t
        return torch.where(first, 1.0 / (ways - labels_shown).double(), recalled)

    return _by_presentation(correct, learner, dataset, ways, instances, episodes, split, seed, batch)


def _by_presentation(correct, learner, dataset, ways, instances, episodes, split, seed, batch) -> PresentationAccuracy:
    """Mean of correct(chunk, ways) [episodes, steps] over each class's k-th drawing, for seeded episodes."""
    ways = ways or learner.ways
    check_positive_int("episodes", episodes)
    sequences = EpisodeSequences(dataset, split, ways=ways, instances=instances, seed=seed)
    values = []
    with evaluation_mode(learner) as device, torch.no_grad():
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

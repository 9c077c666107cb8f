"""A pretrained embedding, used without and with fine-tuning: the baselines of section 7.4.

The simplest way to carry knowledge across tasks is not meta-learning at all: train one ordinary
classifier over every meta-train class mixed together (cross-entropy on batches of images from all
of them), throw its last layer away and keep the features f(x). Vinyals et al. 2016 (Matching
Networks) report nearest neighbours on such features as their baseline; Chen, Liu, Kira, Wang & Huang
2019 ("A Closer Look at Few-shot Classification") show that this "Baseline", with a new linear
classifier trained on each task's support set ("Baseline++" makes that classifier a cosine one), is
competitive with meta-learned methods, and that the gap closes as the backbone gets deeper. A new
task then meets the pretrained embedding in one of two ways:

(a) Non-parametric, PretrainedNearestNeighbour: a query takes the label of its nearest support example
    (k-NN) or nearest class centroid in f's space. Adapting is one forward pass of the support set and
    no weight changes at test time, so nothing learned in pretraining is forgotten.
(b) Parametric, FineTuner: a new linear head [features -> ways] (and, optionally, the body f itself)
    is trained on the support set by gradient descent for a few dozen steps. It is slow (every task
    costs an optimisation), and when the body is tuned it forgets: forgetting() measures how much the
    pretraining classes suffer after one task.

Both are trained the same way by fewshot_lab.engine.meta_train: their training_stream yields mixed
image batches of the train split (ClassBatches) instead of episodes, and their training_loss is the
cross-entropy of head(f(x)) over all meta-train classes. They share their weights (embedding and
head), so one pretraining serves both: finetuner.load_state_dict(knn.state_dict()).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from fewshot_lab.checks import check_positive_int
from fewshot_lab.data.classification import ClassBatch, ClassBatches, split_images
from fewshot_lab.evaluation import accuracy
from fewshot_lab.learner import Learner
from fewshot_lab.methods.nearest import NearestNeighbour


class PretrainedEmbedding(Learner):
    """An embedding f (the body) and a linear head [features -> train_classes], trained by ordinary
    classification over all meta-train classes; subclasses decide how a new task uses f.

    embedding: the body f, [batch, C, H, W] -> [batch, features].
    train_classes: the number of classes of the train split it is pretrained on.
    features: the size of f's output (build_learner measures it).
    batch_size: images per pretraining batch.

    Like every learner, adapt runs f in the learner's mode: evaluate() puts the learner in eval mode, where
    batch norm uses the running statistics of pretraining and a forward pass changes nothing.
    """

    pretrains_on_classes = True

    def __init__(self, embedding: nn.Module, train_classes: int, features: int, batch_size: int = 64):
        super().__init__()
        if not isinstance(embedding, nn.Module):
            raise TypeError(f"embedding must be a torch.nn.Module, got {type(embedding).__name__}")
        if not isinstance(train_classes, int) or train_classes < 2:
            raise ValueError(
                f"train_classes (the number of meta-train classes) must be an integer of at least 2, "
                f"got {train_classes!r}"
            )
        check_positive_int("features (the size of the embedding's output)", features)
        check_positive_int("batch_size", batch_size)
        self.embedding = embedding
        self.head = nn.Linear(features, train_classes)  # the pretraining classifier: new tasks never use it
        self.batch_size = batch_size

    @property
    def train_classes(self) -> int:
        return self.head.out_features

    @property
    def features(self) -> int:
        return self.head.in_features

    def check_dataset(self, dataset):
        """Refuse a dataset whose train split does not have the classes the head was built for."""
        if getattr(dataset, "is_regression", False):
            raise ValueError(
                f"a {self.method} learner pretrains by classification; {dataset.name} is a regression task family"
            )
        found = len(dataset.splits["train"])
        if found != self.train_classes:
            raise ValueError(
                f"this {self.method} learner was built for {self.train_classes} meta-train classes but "
                f"the train split of {dataset.name} has {found}"
            )

    def training_stream(self, dataset, ways: int, shots: int, queries: int, meta_batch: int, seed: int):
        """Mixed image batches of the train split: pretraining ignores ways, shots, queries and meta_batch."""
        self.check_dataset(dataset)
        return ClassBatches(dataset, "train", self.batch_size, seed)

    def training_loss(self, batch: ClassBatch) -> tuple[torch.Tensor, float]:
        """Cross-entropy over all meta-train classes, and the accuracy on the batch."""
        scores = self.head(self.embedding(batch.images))  # [batch, train_classes]
        return nn.functional.cross_entropy(scores, batch.labels), accuracy(scores, batch.labels)


class PretrainedNearestNeighbour(PretrainedEmbedding):
    """(a) k-NN (rule="neighbour") or nearest class centroid (rule="centroid") on the pretrained embedding:
    a NearestNeighbour over f. Adapting changes no weight, so nothing is forgotten."""

    method = "knn"
    compares_embeddings = True

    def __init__(
        self,
        embedding: nn.Module,
        train_classes: int,
        features: int,
        k: int = 1,
        rule: str = "centroid",
        batch_size: int = 64,
    ):
        super().__init__(embedding, train_classes, features, batch_size)
        NearestNeighbour(embedding, k, rule)  # refuses a bad k or rule now rather than at the first task
        self.k, self.rule = k, rule

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        return NearestNeighbour(self.embedding, self.k, self.rule).adapt(support_x, support_y)


class FineTuner(PretrainedEmbedding):
    """(b) A new linear head trained on each task's support set on top of the pretrained body (Chen et al.'s
    Baseline); with fine_tune_body=True the body is trained too, on a copy.

    steps, lr: Adam steps on the support set's cross-entropy, each on the whole support set. Adam rather
        than SGD, because the size of its steps does not depend on the scale of the features, which
        differs from one backbone and one pretraining to the next.
    fine_tune_body: also train (a copy of) the body; otherwise only the head learns and the body stays as
        pretrained.

    The new head starts at zero: every class scores 0, nothing depends on the random generator (the same
    task always gives the same task model), and the first gradient already points each class's weights along its
    mean support embedding minus the mean of all support embeddings (Adam's first step follows that direction's
    signs, each weight moving by lr).

    Batch norm: a frozen body runs in the learner's mode (eval under evaluate(), so running statistics
    from pretraining). A body being fine-tuned is trained in train mode, so it normalises with the
    support set's own batch statistics and its running statistics drift towards them (part of what it
    forgets), and it answers queries in eval mode.
    """

    method = "finetune"
    adapts_with_gradients = True

    def __init__(
        self,
        embedding: nn.Module,
        train_classes: int,
        features: int,
        steps: int = 100,
        lr: float = 0.01,
        fine_tune_body: bool = False,
        batch_size: int = 64,
    ):
        super().__init__(embedding, train_classes, features, batch_size)
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps (of fine-tuning on the support set) must be 0 or more, got {steps!r}")
        if not isinstance(lr, (int, float)) or not lr > 0:
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        self.steps, self.lr, self.fine_tune_body = steps, float(lr), bool(fine_tune_body)

    def fine_tune(
        self, support_x: torch.Tensor, support_y: torch.Tensor, steps: int | None = None
    ) -> tuple[nn.Module, nn.Linear]:
        """(body, head) trained on the support set for `steps` Adam steps (default: the learner's): the learner's
        own body when it is frozen, else a trained copy, and a new head [features -> ways]. The learner's own
        weights are left as they were."""
        ways = int(support_y.max()) + 1
        head = nn.Linear(self.features, ways, device=support_x.device)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        if self.fine_tune_body:
            body = copy.deepcopy(self.embedding).train()
            parameters = [*body.parameters(), *head.parameters()]
        else:
            body, parameters = self.embedding, list(head.parameters())
            with torch.no_grad():
                support = body(support_x)  # [ways * shots, features], fixed while the body is frozen
        optimizer = torch.optim.Adam(parameters, lr=self.lr)
        with torch.enable_grad():  # fine-tuning needs gradients even where the caller turned them off
            for _ in range(self.steps if steps is None else steps):
                if self.fine_tune_body:
                    support = body(support_x)  # [ways * shots, features]
                loss = nn.functional.cross_entropy(head(support), support_y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        if self.fine_tune_body:
            body.eval()
        return body, head

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor, steps: int | None = None):
        """The task model after fine-tuning on the support set (`steps` steps; default: the learner's)."""
        body, head = self.fine_tune(support_x, support_y, steps)

        def scores(query_x: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return head(body(query_x))  # [queries, ways]

        return scores


def forgetting(learner: FineTuner, dataset, task, images_per_class: int = 5) -> dict:
    """What fine-tuning on one task's support set costs the pretraining classes.

    The accuracy of the pretrained head over all meta-train classes on a fixed sample of meta-train
    images (the first `images_per_class` of each class), with the pretrained body ("before") and with
    the body after fine-tuning on task's support set ("after"). Returns {"before": float, "after": float}.

    With fine_tune_body=False the body does not change, so after == before. A PretrainedNearestNeighbour
    forgets nothing by construction: its adapt changes no weight, so there is nothing to measure.
    """
    if not isinstance(learner, FineTuner):
        raise TypeError(
            f"forgetting measures a FineTuner, not a {type(learner).__name__}; a knn learner changes no "
            f"weight when it adapts, so it forgets nothing"
        )
    check_positive_int("images_per_class", images_per_class)
    learner.check_dataset(dataset)
    device = next(learner.parameters()).device
    indices, labels = split_images(dataset, "train", per_class=images_per_class)  # [images], [images]

    def pretraining_accuracy(body: nn.Module) -> float:
        with torch.no_grad():
            scores = torch.cat(
                [learner.head(body(dataset.as_float(chunk).to(device))) for chunk in indices.split(256)]
            )  # [images, train_classes]
        return accuracy(scores, labels.to(device))

    was_training = learner.training
    learner.eval()
    try:
        tuned_body, _ = learner.fine_tune(task.support_x.to(device), task.support_y.to(device))
        return {"before": pretraining_accuracy(learner.embedding), "after": pretraining_accuracy(tuned_body)}
    finally:
        learner.train(was_training)

"""One meta-training loop for every method.

    history = meta_train(learner, dataset, ways=20, shots=1, queries=5, steps=2000, out="runs/proto")
    history = meta_train(learner, dataset, max_minutes=1.5)   # "train for 90 seconds"

Each step draws a training batch from the learner's own stream (tasks for episodic learners, mixed
image batches for a pretrained embedding), takes one optimiser step on learner.training_loss, and
records the loss and accuracy. Every `val_every` steps the learner is scored on a fixed set of
meta-validation tasks; the best weights are kept. `final=True` is the last training of a recipe already chosen
on meta-validation: the val classes join the train classes, nothing is validated, and the last weights are kept.
With `out`, the latest and the best checkpoints are written there atomically, and `resume=True` continues a
stopped run to the same result an uninterrupted run would have reached (same steps, same tasks, same weights). After a
Ctrl-C the run goes on from its last finished step; what a half-done step had already changed in place is not undone
(batch norm's running statistics, or the weights if the optimiser was stepping), so such a resume is close to the
uninterrupted run rather than equal to it.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from fewshot_lab.backbones import PRECISIONS, compute_precision, default_device
from fewshot_lab.checkpoints import RUN_FILES, clear_run, load_checkpoint, refuse_taken_folder, save_checkpoint
from fewshot_lab.checks import check_positive_int
from fewshot_lab.data import make_sampler
from fewshot_lab.data.augment import Augmentation
from fewshot_lab.data.tasks import check_seed
from fewshot_lab.evaluation import check_task_family, validation_score
from fewshot_lab.paths import remove_stale_temporaries

SCHEDULES = ("constant", "cosine")


class SettingsDiffer(ValueError):
    """A resumed run given other settings than the run was started with; `differences` lists
    (setting, value given, value of the run)."""

    def __init__(self, folder: Path, differences: list[tuple[str, object, object]]):
        self.folder, self.differences = folder, differences
        listed = "; ".join(f"{name}={given!r} (the run has {saved!r})" for name, given, saved in differences)
        super().__init__(
            f"the run in {str(folder)!r} was started with other settings, and resume continues it "
            f"unchanged: {listed}. Resume with the run's settings (only steps and max_minutes may "
            f"change), or start a new run with replace=True or another out folder"
        )


@dataclass
class History:
    """What a run recorded: one entry per step for training, one per validation for meta-validation."""

    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_step: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)  # mean squared error for regression, bit errors for copying
    val_ci95: list = field(default_factory=list)
    best_step: int = -1
    best_val_accuracy: float = (
        -math.inf
    )  # the lowest validation mean squared error or bit errors, where lower is better
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainingPlan:
    """Every setting of a run: saved in its checkpoints, so a resumed run continues with the same plan."""

    ways: int = 5
    shots: int = 1
    queries: int = 15
    meta_batch: int = 1
    steps: int | None = 1000
    max_minutes: float | None = None
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"
    val_every: int = 250
    val_episodes: int = 100
    val_ways: int | None = None
    seed: int = 0
    augment: dict | None = None  # the fields of an Augmentation, or None for none
    final: bool = False  # train on the train and val classes, no validation, keep the last weights
    precision: str = "fp32"  # "bf16": training forward passes of the learner's Backbone in bfloat16
    # the run's evaluation choice, for `fewshot-lab evaluate`: a metric learner embeds each image as the mean of 9
    # views shifted by this many pixels (0: none); validation during training stays plain
    test_views: int = 0

    def check(self):
        if self.steps is None and self.max_minutes is None:
            raise ValueError("give steps, max_minutes or both: a run needs a stopping rule")
        counts = ["meta_batch", "val_every", "val_episodes"]
        counts += [name for name in ("steps", "val_ways") if getattr(self, name) is not None]  # None: no step budget
        for name in counts:  # checked before anything is read or cleared
            check_positive_int(name, getattr(self, name))
        for name in ("ways", "shots"):  # whole numbers here; the sampler says how many the data needs
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int):
                raise ValueError(f"{name} must be a whole number, got {getattr(self, name)!r}")
        if self.max_minutes is not None and not (math.isfinite(self.max_minutes) and self.max_minutes > 0):
            raise ValueError(f"max_minutes must be a positive finite number, got {self.max_minutes}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not isinstance(self.test_views, int) or self.test_views < 0:
            raise ValueError(f"test_views must be a whole number of pixels, 0 or more, got {self.test_views!r}")
        check_seed(self.seed)
        if isinstance(self.queries, bool) or not isinstance(self.queries, int) or self.queries < 1:
            raise ValueError(
                f"queries must be at least 1: the training loss is measured on each task's queries, got {self.queries}"
            )
        for name in ("lr", "weight_decay"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a finite number of at least 0, got {getattr(self, name)}")

    def differences(self, saved: TrainingPlan) -> list[tuple[str, object, object]]:
        """(setting, value here, value in `saved`) for every setting a resumed run may not change: all but the
        budget (steps, max_minutes), which a resumed run may extend."""
        ours, theirs = asdict(self), asdict(saved)
        return [
            (name, ours[name], theirs[name])
            for name in ours
            if name not in ("steps", "max_minutes") and ours[name] != theirs[name]
        ]

    def progress(self, step: int, seconds: float) -> float:
        """How far through the run we are, in [0, 1]: by steps, by time, whichever is further."""
        fractions = []
        if self.steps is not None:
            fractions.append(step / self.steps)
        if self.max_minutes is not None:
            fractions.append(seconds / (60 * self.max_minutes))
        return min(1.0, max(fractions))

    def learning_rate(self, progress: float) -> float:
        if self.schedule == "cosine":
            return self.lr * 0.5 * (1 + math.cos(math.pi * progress))
        return self.lr


def meta_train(
    learner,
    dataset,
    *,
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    meta_batch: int = 1,
    steps: int | None = 1000,
    max_minutes: float | None = None,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    schedule: str = "cosine",
    val_every: int = 250,
    val_episodes: int = 100,
    val_ways: int | None = None,
    seed: int = 0,
    augment: Augmentation | None = None,
    out=None,
    resume: bool = False,
    progress: bool = True,
    device=None,
    final: bool = False,
    precision: str = "fp32",
    test_views: int = 0,
    replace: bool = False,
) -> History:
    """Meta-train `learner` on the train split of `dataset`; returns the History and leaves the best weights loaded.

    Validation scores the learner by fewshot_lab.evaluation.validation_score on the val split with `val_ways` ways
    (default: `ways`) and the same shots and queries: the learner protocol, or for sequence learners (MANN, LSTM)
    accuracy by presentation. A learner of generated tasks (task_family: the NTM, memory networks) takes only its
    own family's dataset (copy; babi-1 or babi-2).
    `augment` (fewshot_lab.data.augment.Augmentation) enlarges the training data only.
    final: train on the train and val classes together (dataset.train_with_val()) with no validation, keeping the
    last weights: the final run of a recipe whose settings were chosen on val. Then val_* are not used.
    precision="bf16": the training forward passes of the learner's conv or mlp Backbone run in bfloat16 under
    torch.autocast (about twice the steps per minute on CPUs with bfloat16 matrix units; results/precision.md), except
    the MAML family's inner loops (fewshot_lab.methods.maml, Precision); weights, gradients' updates, optimiser state,
    validation and checkpoints stay float32.
    test_views: recorded in the run for `fewshot-lab evaluate`, which then embeds support and queries of a metric
    learner as the mean of 9 views shifted by that many pixels (fewshot_lab.backbones.ShiftedViews); 0: none.
    A run folder holds one run: a new run into a folder holding another is refused unless replace=True, which
    deletes the old run's files before training starts; resume=True refuses any setting that differs from the
    run's own, except steps and max_minutes.
    """
    out = Path(out) if out is not None else None
    if out is not None:
        if resume and replace:
            raise ValueError(
                "resume=True continues the run in out; replace=True deletes it to start a new one: give one of them"
            )
        if not (resume or replace):
            refuse_taken_folder(out, "resume=True", "replace=True")
    plan = TrainingPlan(
        ways,
        shots,
        queries,
        meta_batch,
        steps,
        max_minutes,
        lr,
        weight_decay,
        schedule,
        val_every,
        val_episodes,
        val_ways,
        seed,
        asdict(augment) if augment is not None else None,
        final,
        precision,
        test_views,
    )
    plan.check()
    if test_views and not learner.compares_embeddings:
        raise ValueError(
            f"test_views={test_views} averages the embedding of a metric learner, and a {learner.method} learner "
            f"compares no embeddings; give test_views=0"
        )
    if precision != "fp32":
        learner.check_precision(precision)
    check_task_family(learner, dataset)
    learned_from = training_data(dataset, augment, final)  # refuses a final run of a dataset with no val classes
    if not final:
        make_sampler(
            dataset, "val", ways=val_ways or ways, shots=shots, queries=queries
        )  # refuse impossible validation now
    if out is not None:
        learner.config()  # refuse, before training, a learner that cannot be saved
    device = default_device(device)
    learner.to(device)
    torch.manual_seed(seed)
    stream = learner.training_stream(
        learned_from, ways=ways, shots=shots, queries=queries, meta_batch=meta_batch, seed=seed
    )
    if augment is not None:
        stream = augment.wrap(stream, seed)
    optimizer = torch.optim.Adam(learner.parameters(), lr=lr, weight_decay=weight_decay)
    history, best_state, step, run_id = History(), None, 0, uuid.uuid4().hex
    if resume:
        if out is None or not (out / "last.pt").exists():
            raise FileNotFoundError(
                f"resume=True needs a checkpoint {out / 'last.pt' if out else 'in out'}; "
                f"start without resume to train from scratch"
            )
        step, history, best_state, run_id = _restore(out / "last.pt", learner, optimizer, stream, dataset, plan)
    if out is not None:  # every check has passed: now the folder may change
        if replace:
            clear_run(out)
        for name in RUN_FILES:
            remove_stale_temporaries(out / name)
    run = _Run(learner, dataset, plan, optimizer, stream, history, best_state, out, device, run_id)
    return run.loop(step, progress)


@contextlib.contextmanager
def torch_threads(count: int):
    """Run the block with torch on `count` CPU threads, then give the caller back its own count (a result that
    must not depend on the machine's cores, e.g. a fingerprint of trained weights, runs on one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def training_data(dataset, augment: Augmentation | None = None, final: bool = False):
    """The dataset whose train split a run learns from: the train classes (with the val classes too for a final
    run), enlarged by `augment` (e.g. rotated copies as new classes)."""
    if final:
        if not hasattr(dataset, "train_with_val"):
            raise ValueError(
                f"final training moves the val classes of a class-split dataset into training; "
                f"{getattr(dataset, 'name', 'this dataset')} has no val classes to move"
            )
        dataset = dataset.train_with_val()
    return augment.training_dataset(dataset) if augment is not None else dataset


class _Run:
    def __init__(self, learner, dataset, plan, optimizer, stream, history, best_state, out, device, run_id):
        self.learner, self.dataset, self.plan, self.optimizer = learner, dataset, plan, optimizer
        self.stream, self.history, self.best_state, self.out, self.device = stream, history, best_state, out, device
        self.run_id = run_id  # in every checkpoint, so that best.pt and last.pt are known to be one run's

    def loop(self, step: int, progress: bool) -> History:
        plan, history, learner = self.plan, self.history, self.learner
        started = time.perf_counter() - history.seconds
        bar = tqdm(
            total=plan.steps,
            initial=step,
            disable=not progress,
            desc=f"meta-training {learner.method}",
            mininterval=0.5,
        )
        learner.train()
        self.after_step = (self.stream.state_dict(), torch.get_rng_state())  # random state after the last step
        try:
            while True:
                seconds = time.perf_counter() - started
                fraction = plan.progress(step, seconds)
                if fraction >= 1.0:
                    break
                for group in self.optimizer.param_groups:
                    group["lr"] = plan.learning_rate(fraction)
                with compute_precision(learner, plan.precision):
                    loss, accuracy = learner.training_loss(self.stream.sample().to(self.device))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                step += 1
                self.after_step = (self.stream.state_dict(), torch.get_rng_state())
                history.step.append(step)
                history.loss.append(loss.item())
                history.accuracy.append(accuracy)
                if not math.isfinite(history.loss[-1]):  # nothing saved from here on: the checkpoints stay sound
                    raise ValueError(
                        f"the training loss became {history.loss[-1]} at step {step}: the run diverged "
                        f"(a learning rate too high?); its checkpoints, if any, hold the last step "
                        f"saved before it"
                    )
                bar.update()
                if step % plan.val_every == 0:  # a final run validates nothing, but still saves its progress
                    history.seconds = time.perf_counter() - started  # before validating: best.pt records it too
                    if not plan.final:
                        result = self.validate(step)
                        bar.set_postfix(
                            loss=f"{loss.item():.3f}",
                            val=f"{100 * result.mean:.1f}%" if result.metric == "accuracy" else f"{result.mean:.3f}",
                        )
                    self.save(step, "last.pt")
        except KeyboardInterrupt:  # a lecturer may stop early: keep what was learned, resumable from this step
            print(f"stopped by the user after step {step}")
            self.stream.load_state_dict(self.after_step[0])  # forget the half-drawn step
            torch.set_rng_state(self.after_step[1])
            del history.step[step:], history.loss[step:], history.accuracy[step:]
        finally:
            bar.close()
        history.seconds = time.perf_counter() - started
        if not plan.final and (not history.val_step or history.val_step[-1] != step):
            self.validate(step)
        self.save(step, "last.pt")
        if self.best_state is not None:
            learner.load_state_dict(self.best_state)
        learner.eval()
        return history

    def validate(self, step: int):
        plan, history = self.plan, self.history
        result = validation_score(
            self.learner,
            self.dataset,
            ways=plan.val_ways or plan.ways,
            shots=plan.shots,
            queries=plan.queries,
            episodes=plan.val_episodes,
            seed=plan.seed,
        )
        self.learner.train()
        history.val_step.append(step)
        history.val_accuracy.append(result.mean)
        history.val_ci95.append(result.ci95)
        improved = (
            result.mean < history.best_val_accuracy
            if result.lower_is_better
            else result.mean > history.best_val_accuracy
        )
        if history.best_step < 0 or improved:
            history.best_step, history.best_val_accuracy = step, result.mean
            self.best_state = copy.deepcopy(self.learner.state_dict())
            self.save(step, "best.pt", weights=self.best_state)
        return result

    def save(self, step: int, name: str, weights=None):
        if self.out is None:
            return
        save_checkpoint(
            self.out / name,
            self.learner,
            self.dataset,
            weights=weights,
            training={
                "run": self.run_id,
                "step": step,
                "plan": asdict(self.plan),
                "history": self.history.to_dict(),
                "optimizer": self.optimizer.state_dict(),
                "sampler": self.stream.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "best_state": self.best_state,
            },
        )


def _restore(path: Path, learner, optimizer, stream, dataset, plan: TrainingPlan):
    checkpoint = load_checkpoint(path, learner, dataset)
    training = checkpoint["training"]
    differences = plan.differences(TrainingPlan(**training["plan"]))
    if differences:
        raise SettingsDiffer(path.parent, differences)
    optimizer.load_state_dict(training["optimizer"])
    stream.load_state_dict(training["sampler"])
    torch.set_rng_state(training["torch_rng"])
    return training["step"], History(**training["history"]), training["best_state"], training.get("run")

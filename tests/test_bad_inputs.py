"""Careless and hostile use: a table of bad inputs and faults, each with what the user must be told and a check
that nothing was lost (issue 20). Then the pictures every kind of file holds, read as a person sees them.

Each row of BAD starts from a fresh world (a copy of a tiny trained run, in its own folder), which its `prepare`
may damage; its `act` then does the bad thing and returns what the user was told: the error line of the command
line, the message of an exception, or the text of the warnings. The row's `says` must match it, and `kept` checks
that nothing was lost: by default, that no file under the world changed in the act.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fewshot_lab.checkpoints import read_checkpoint
from fewshot_lab.cli import main
from fewshot_lab.data import load_dataset
from fewshot_lab.data.augment import Augmentation
from fewshot_lab.data.dataset import load_arrays
from fewshot_lab.data.images import Preprocessing
from fewshot_lab.engine import meta_train
from fewshot_lab.evaluation import evaluate
from fewshot_lab.methods import build_learner
from fewshot_lab.paths import atomic_path
from fewshot_lab.saved import SavedLearner, load

REPOSITORY = Path(__file__).resolve().parents[1]
PICTURES = Path(__file__).resolve().parent / "pictures"
TINY = [
    "--dataset",
    "glyphs",
    "--backbone",
    "conv4-small",
    "--ways",
    "3",
    "--queries",
    "2",
    "--val-episodes",
    "2",
    "--augment",
    "affine",
    "--val-every",
    "2",
    "--precision",  # not auto: these runs must be alike on CPUs with and without bfloat16 units
    "fp32",
]
TRAIN = ["train", "--method", "protonet", *TINY, "--steps", "4"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, glyphs_dataset):
    """Two tiny ProtoNet runs of 4 steps on glyphs (seeds 0 and 1), each with best.pt and last.pt."""
    folder = tmp_path_factory.mktemp("runs")
    for name, seed in (("a", "0"), ("b", "1")):
        assert main([*TRAIN, "--seed", seed, "--out", str(folder / name)]) == 0
    return folder


@dataclass
class World:
    root: Path
    runs: Path

    @property
    def run(self) -> Path:  # a copy of run "a", this row's to damage
        return self.root / "run"

    def files(self) -> dict[str, bytes]:
        return {
            str(path.relative_to(self.root)): path.read_bytes()
            for path in sorted(self.root.rglob("*"))
            if path.is_file()
        }


@pytest.fixture
def world(runs, tmp_path) -> World:
    shutil.copytree(runs / "a", tmp_path / "run")
    return World(tmp_path, runs)


def cli(*arguments) -> str:
    """Run the command line, which must refuse (exit 2) with one error line; returns that line."""
    told = io.StringIO()
    with contextlib.redirect_stderr(told):
        code = main([str(argument) for argument in arguments])
    errors = [line for line in told.getvalue().splitlines() if line.startswith("fewshot-lab ")]
    assert code == 2 and len(errors) == 1, told.getvalue()
    return errors[0]


def refused(call: Callable[[], object]) -> str:
    """Call the API, which must raise; returns the error's one-line message."""
    try:
        call()
    except Exception as error:
        message = str(error)
        assert "\n" not in message, message
        return f"{type(error).__name__}: {message}"
    raise AssertionError("the call was not refused")


def warned(call: Callable[[], object]) -> str:
    """Call the API, which must work; returns the text of the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return " | ".join(str(warning.message) for warning in caught)


def train_api(out, **options):
    settings = dict(ways=3, shots=1, queries=2, steps=4, val_every=2, val_episodes=2, progress=False)
    torch.manual_seed(0)
    return meta_train(
        build_learner("protonet", backbone="conv4-small"), load_dataset("glyphs"), out=out, **{**settings, **options}
    )


def saved(world: World) -> SavedLearner:
    return load(world.run, device="cpu")


def picture_tensor(value: float, dtype=torch.float32) -> torch.Tensor:
    return torch.full((1, 28, 28), value, dtype=dtype)  # [C, H, W]


def predict_with(world: World, query) -> list:
    support = [picture_tensor(0.0), picture_tensor(1.0)]
    return saved(world).predict(support, ["blank", "ink"], [query])


def dead_pid() -> int:
    """The process id of a process that has ended (a writer killed mid-write leaves one behind)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def write_file(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def hostile_checkpoint(world: World):
    """A last.pt whose pickle would create a file when loaded unsafely."""

    class Hostile:
        def __reduce__(self):
            return (Path.touch, (world.root / "pwned",))

    torch.save({"format": "fewshot_lab-checkpoint-1", "weights": Hostile()}, world.run / "last.pt")


def cut_in_half(path: Path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def mixed_run(world: World):
    """A run folder whose best.pt is another run's (copied in by hand, or left by a run before this one)."""
    shutil.copyfile(world.runs / "b" / "best.pt", world.run / "best.pt")


def final_last(world: World):
    """A folder as the old code left it: a final run's last.pt beside the best.pt of the run it trained over."""
    assert main([*TRAIN, "--final", "--replace", "--out", str(world.root / "final")]) == 0
    shutil.copyfile(world.root / "final" / "last.pt", world.run / "last.pt")
    shutil.rmtree(world.root / "final")


def drawings(world: World) -> Path:
    """A folder dataset of three classes, each three copies of a stored picture (a T and a grey stroke)."""
    return world.root / f"drawings_{world.root.name}"


def folder_cache(world: World) -> Path:
    return next((Path(os.environ["FEWSHOT_LAB_DATA"]) / "folders").glob(f"{drawings(world).name}-*.npz"))


def nothing_cached(world: World):
    assert not list((Path(os.environ["FEWSHOT_LAB_DATA"]) / "folders").glob(f"{drawings(world).name}-*.npz"))


def cached_drawings(world: World):
    for label, picture in (("tee", "strokes_grey.png"), ("rgba", "strokes_rgba.png"), ("wide", "strokes_16bit.png")):
        for copy in range(3):
            write_file(drawings(world) / label / f"{copy}.png", (PICTURES / picture).read_bytes())
    load_dataset(str(drawings(world)), image_size=20, invert=True)  # now cached


def rebuilt_drawings(world: World):
    """The damaged cache was rebuilt whole: it reads back silently, with every drawing's strokes."""
    cache = folder_cache(world)
    images = load_arrays(cache)[0]
    cache.unlink()
    assert len(images) == 9 and all(np.array_equal(image.numpy(), reference_ink()) for image in images)


# --- what `kept` checks after some rows ---


def no_file_named(pattern: str) -> Callable[[World], None]:
    def check(world: World):
        assert not [p for p in world.root.rglob("*") if re.search(pattern, p.name)], list(world.root.rglob("*"))

    return check


def run_still_loads(world: World):
    evaluate(saved(world).learner, load_dataset("glyphs"), ways=3, queries=2, episodes=2)
    assert read_checkpoint(world.run / "last.pt")["training"]["step"] >= 4


def stale_temporaries_gone(world: World):
    assert not list(world.run.glob(".*.part")), list(world.run.iterdir())
    run_still_loads(world)


# --- rows whose act needs a few lines ---


def killed_mid_write_then_resumed(world: World) -> str:
    """SIGKILL a process in the middle of writing best.pt, then resume the run: the next write removes the
    temporary the killed one left."""
    script = (
        "import sys, time\nfrom fewshot_lab.paths import atomic_path\n"
        "with atomic_path(sys.argv[1]) as temporary:\n"
        "    temporary.write_bytes(b'half a checkpoint')\n    print('writing', flush=True)\n    time.sleep(60)\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(world.run / "best.pt")], cwd=REPOSITORY, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline() == "writing\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    assert len(list(world.run.glob(".best.pt.*.part"))) == 1  # what the kill left
    return resumed(world)


def dead_writers_temporaries(world: World):
    write_file(world.run / f".last.pt.{dead_pid()}-k1ll3d00.part", b"cut short")
    write_file(world.run / ".best.pt.abcd1234.part", b"left by an older version")  # no process id in its name


def resumed(world: World) -> str:
    assert main([*TRAIN, "--steps", "6", "--resume", "--out", str(world.run)]) == 0
    return ""


def live_writers_temporary(world: World) -> str:
    """A temporary of a process that is still running (another write to the same place) is not touched."""
    live = write_file(world.run / f".best.pt.{os.getpid()}-l1v3wr1t.part", b"being written")
    with atomic_path(world.run / "best.pt") as temporary:
        shutil.copyfile(world.runs / "a" / "best.pt", temporary)
    assert live.read_bytes() == b"being written"
    return ""


def another_destinations_temporary(world: World) -> str:
    """ ".best.pt.x.part" must not be taken for a temporary of a file named "best" (a prefix of its name)."""
    other = write_file(world.root / f".best.pt.{dead_pid()}-0th3r000.part", b"best.pt's, not best's")
    with atomic_path(world.root / "best") as temporary:
        temporary.write_bytes(b"written")
    assert other.exists()
    other.unlink()
    return ""


def wrong_arrays(cache: Path):
    """A readable .npz whose arrays do not fit together (a class index beyond the classes)."""
    with open(cache, "wb") as handle:
        np.savez(
            handle,
            images=np.zeros((2, 1, 4, 4), np.uint8),
            targets=np.array([0, 5]),
            classes=np.array(json.dumps([["a", "g"]])),
        )


def load_drawings(world: World) -> str:
    return warned(lambda: load_dataset(str(drawings(world)), image_size=20, invert=True))


@dataclass
class Bad:
    name: str
    act: Callable[[World], str]
    says: str  # a regular expression the message must match ("" for a fault that is healed without a word)
    prepare: Callable[[World], object] | None = None  # damage done to the world before the act
    kept: Callable[[World], None] | None = None  # None: every file of the world is as it was before the act


BAD = [
    # 1. a --final run into a folder holding another run; evaluate and compare read one record
    Bad(
        "final run into a run folder",
        lambda w: cli(*TRAIN, "--final", "--out", w.run),
        r"'.*run' already holds a run \(best.pt and last.pt\): give --resume to continue it, --replace to delete it",
    ),
    Bad(
        "evaluate a folder mixing two runs",
        lambda w: cli("evaluate", w.run, "--ways", "3", "--episodes", "2"),
        r"the best.pt and last.pt in '.*run' are not one run's record: best.pt is step \d+ of run \w+, but last.pt "
        r"records step \d+ of run \w+ as its best",
        prepare=mixed_run,
    ),
    Bad(
        "evaluate an old folder: a final last.pt beside an earlier run's best.pt",
        lambda w: cli("evaluate", w.run, "--episodes", "2"),
        r"last.pt records step -1 of run \w+ as its best",
        prepare=final_last,
    ),
    Bad(
        "compare a folder mixing two runs",
        lambda w: cli("compare", w.run, "--settings", "3x1", "--episodes", "2", "--out", w.root / "t.md"),
        r"fewshot-lab compare: error: .* are not one run's record",
        prepare=mixed_run,
    ),
    Bad(
        "load() a folder mixing two runs",
        lambda w: refused(lambda: load(w.run)),
        r"not one run's record",
        prepare=mixed_run,
    ),
    Bad(
        "--init from a folder mixing two runs",
        lambda w: cli(*TRAIN, "--init", w.run, "--out", w.root / "new"),
        r"not one run's record",
        prepare=mixed_run,
    ),
    # 2. training without --resume into another run's folder
    Bad(
        "another method into a run folder",
        lambda w: cli("train", "--method", "matching", *TINY, "--steps", "4", "--out", w.run),
        r"already holds a run",
    ),
    Bad(
        "meta_train(out=) into a run folder",
        lambda w: refused(lambda: train_api(w.run)),
        r"FileExistsError: .* give resume=True to continue it, replace=True to delete it and start this one",
    ),
    Bad(
        "a folder holding only a best.pt",
        lambda w: cli(*TRAIN, "--out", w.run),
        r"already holds a run \(best.pt\)",
        prepare=lambda w: (w.run / "last.pt").unlink(),
    ),
    Bad(
        "--resume with --replace",
        lambda w: cli(*TRAIN, "--resume", "--replace", "--out", w.run),
        r"--resume continues the run in --out; --replace deletes it .*give one of them",
    ),
    Bad(
        "resume=True with replace=True",
        lambda w: refused(lambda: train_api(w.run, resume=True, replace=True)),
        r"give one of them",
    ),
    Bad(
        "--resume into a folder with no run",
        lambda w: cli(*TRAIN, "--resume", "--out", w.root / "empty"),
        r"'.*empty' holds no last.pt; leave out --resume to start a new run there",
    ),
    Bad(
        "--out is a file",
        lambda w: cli(*TRAIN, "--out", w.root / "notes.txt"),
        r"'.*notes.txt' is a file, not a run folder",
        prepare=lambda w: write_file(w.root / "notes.txt", b"mine"),
    ),
    # 3. resume with other settings than the run's
    Bad(
        "resume with other ways, shots and queries",
        lambda w: cli(
            *TRAIN, "--ways", "4", "--shots", "2", "--queries", "5", "--steps", "8", "--resume", "--out", w.run
        ),
        r"--resume continues it unchanged: --ways 4 \(the run has --ways 3\); --shots 2 \(the run has --shots 1\); "
        r"--queries 5 \(the run has --queries 2\)\. Give the run's own settings",
    ),
    Bad(
        "resume with --augment none (was a KeyError)",
        lambda w: cli(*TRAIN, "--augment", "none", "--resume", "--out", w.run),
        r"--augment none \(the run has --augment affine\)",
    ),
    Bad(
        "resume with --augment all",
        lambda w: cli(*TRAIN, "--augment", "all", "--resume", "--out", w.run),
        r"--augment all \(the run has --augment affine\)",
    ),
    Bad(
        "resume with --augment-strength",
        lambda w: cli(*TRAIN, "--augment-strength", "2", "--resume", "--out", w.run),
        r"--augment with --augment-strength \(\{.*'degrees': 20.0.*\}\) \(the run has --augment affine\)",
    ),
    Bad(
        "resume with another --lr",
        lambda w: cli(*TRAIN, "--lr", "0.01", "--resume", "--out", w.run),
        r"--lr 0.01 \(the run has --lr 0.002\)",  # the recipe's
    ),
    Bad(
        "resume with --final",
        lambda w: cli(*TRAIN, "--final", "--resume", "--out", w.run),
        r"--final \(the run has no --final\)",
    ),
    Bad(
        "resume with --val-ways",
        lambda w: cli(*TRAIN, "--val-ways", "2", "--resume", "--out", w.run),
        r"--val-ways 2 \(the run has --val-ways 5\)",  # the recipe's
    ),
    Bad(
        "resume with another --seed",
        lambda w: cli(*TRAIN, "--seed", "5", "--resume", "--out", w.run),
        r"--seed 5 \(the run has --seed 0\)",
    ),
    Bad(
        "resume with another method",
        lambda w: cli("train", "--method", "matching", *TINY, "--resume", "--out", w.run),
        r"holds a 'protonet' learner, not a 'matching' one",
    ),
    Bad(
        "resume with another backbone",
        lambda w: cli(*[a if a != "conv4-small" else "conv4" for a in TRAIN], "--resume", "--out", w.run),
        r"\(backbone 'conv4-small' there, 'conv4' here\)",
    ),
    Bad(
        "meta_train resumed with another precision",
        lambda w: refused(
            lambda: train_api(w.run, resume=True, precision="bf16", augment=Augmentation(rotations=False))
        ),
        r"SettingsDiffer: the run in '.*run' was started with other settings, and resume continues it unchanged: "
        r".*precision='bf16' \(the run has 'fp32'\).*\. Resume with the run's settings",
    ),
    # 4. pictures (the kinds that keep their strokes are tested below, from stored files)
    Bad(
        "a 32-bit picture beyond 16 bits",
        lambda w: refused(lambda: predict_with(w, Image.fromarray(np.full((8, 8), 1 << 20, np.int32)))),
        r"query picture 0: a I picture with values from 1.04858e\+06 to 1.04858e\+06 is neither an 8-bit nor a "
        r"16-bit picture",
    ),
    Bad(
        "a path that is not a picture",
        lambda w: refused(lambda: predict_with(w, w.root / "x.png")),
        r"query picture 0 \('.*x.png'\) cannot be read",
        prepare=lambda w: write_file(w.root / "x.png", b"not a png"),
    ),
    Bad(
        "a picture of another kind",
        lambda w: refused(lambda: predict_with(w, [[0.0, 1.0]])),
        r"TypeError: query picture 0 is a list; give image paths, PIL images or tensors",
    ),
    Bad(
        "pictures for a regression learner",
        lambda w: refused(
            lambda: SavedLearner(build_learner("maml", backbone="mlp", ways=1), {"name": "sinusoid"}, None).predict(
                [picture_tensor(0)], ["a"], [picture_tensor(0)]
            )
        ),
        r"trained on sinusoid, which has no pictures",
    ),
    Bad(
        "an unreadable picture in a folder dataset",
        lambda w: refused(lambda: load_dataset(str(drawings(w)))),
        r"cannot read image '.*0.png' of class 'a'",
        prepare=lambda w: (
            write_file(drawings(w) / "a" / "0.png", b"junk"),
            write_file(drawings(w) / "b" / "0.png", (PICTURES / "strokes_grey.png").read_bytes()),
        ),
        kept=nothing_cached,
    ),
    # 5. tensors predict must not take
    Bad(
        "predict a nan tensor",
        lambda w: refused(lambda: predict_with(w, picture_tensor(float("nan")))),
        r"query picture 0 holds values that are not finite numbers \(nan or infinity\)",
    ),
    Bad(
        "predict an inf tensor",
        lambda w: refused(lambda: predict_with(w, picture_tensor(float("inf")))),
        r"not finite numbers",
    ),
    Bad(
        "predict a raw 0-255 uint8 tensor",
        lambda w: refused(lambda: predict_with(w, picture_tensor(255, torch.uint8))),
        r"query picture 0 is a torch.uint8 tensor; give a float tensor with ink high in \[0, 1\]",
    ),
    Bad(
        "predict a float tensor of 0-255 values",
        lambda w: refused(lambda: predict_with(w, picture_tensor(200.0))),
        r"query picture 0 has values from 200 to 200; a tensor picture is taken as preprocessed",
    ),
    Bad(
        "predict a negative tensor",
        lambda w: refused(lambda: predict_with(w, picture_tensor(-0.5))),
        r"has values from -0.5 to -0.5",
    ),
    Bad(
        "predict an empty tensor",
        lambda w: refused(lambda: predict_with(w, torch.zeros(1, 0, 28))),
        r"query picture 0 is an empty tensor of shape \(1, 0, 28\)",
    ),
    Bad(
        "predict a colour tensor with a grey learner",
        lambda w: refused(lambda: predict_with(w, torch.zeros(3, 28, 28))),
        r"expected \[1, H, W\] or \[H, W\]",
    ),
    Bad(
        "a nan support tensor",
        lambda w: refused(lambda: saved(w).predict([picture_tensor(float("nan"))], ["a"], [picture_tensor(0)])),
        r"support picture 0 holds values that are not finite",
    ),
    Bad(
        "fewer labels than support pictures",
        lambda w: refused(lambda: saved(w).predict([picture_tensor(0), picture_tensor(1)], ["a"], [picture_tensor(0)])),
        r"the support set has 2 pictures but 1 labels",
    ),
    # 6. numbers at their edges: no nan result, no exit 0
    Bad(
        "train --queries 0",
        lambda w: cli(*TRAIN, "--queries", "0", "--augment", "none", "--out", w.root / "q"),
        r"queries must be at least 1: the training loss is measured on each task's queries, got 0",
    ),
    Bad(
        "train --queries 0 with augmentation",
        lambda w: cli(*TRAIN, "--queries", "0", "--out", w.root / "q"),
        r"queries must be at least 1",
    ),
    Bad(
        "evaluate --queries 0",
        lambda w: cli("evaluate", w.run, "--queries", "0", "--episodes", "2", "--json"),
        r"queries must be at least 1: a task is scored on its queries, got 0",
    ),
    Bad(
        "evaluate(queries=0)",
        lambda w: refused(lambda: evaluate(saved(w).learner, load_dataset("glyphs"), ways=3, queries=0, episodes=2)),
        r"queries must be at least 1",
    ),
    Bad(
        "compare --queries 0",
        lambda w: cli(
            "compare", w.run, "--queries", "0", "--settings", "3x1", "--episodes", "2", "--out", w.root / "t.md"
        ),
        r"queries must be at least 1",
    ),
    Bad(
        "compare --episodes 0",
        lambda w: cli("compare", w.run, "--episodes", "0", "--settings", "3x1", "--out", w.root / "t.md"),
        r"episodes must be a positive integer, got 0",
    ),
    Bad(
        "compare --settings 1x1",
        lambda w: cli("compare", w.run, "--settings", "1x1", "0x0", "--out", w.root / "t.md"),
        r"a setting needs at least 2 ways and 1 shot, got 1x1, 0x0",
    ),
    Bad(
        "compare --seed -1",
        lambda w: cli("compare", w.run, "--seed", "-1", "--out", w.root / "t.md"),
        r"seed must be an integer of at least 0",
    ),
    Bad(
        "train --lr nan",
        lambda w: cli(*TRAIN, "--lr", "nan", "--out", w.root / "n"),
        r"lr must be a finite number of at least 0, got nan",
    ),
    Bad("train --lr -1", lambda w: cli(*TRAIN, "--lr", "-1", "--out", w.root / "n"), r"lr must be a finite number"),
    Bad(
        "train --lr 1e30: the loss diverges",
        lambda w: cli(*TRAIN, "--lr", "1e30", "--out", w.root / "n"),
        r"the training loss became (nan|inf|-inf) at step \d+: the run diverged",
    ),
    Bad(
        "train --max-minutes nan",
        lambda w: cli(*TRAIN, "--max-minutes", "nan", "--out", w.root / "n"),
        r"max_minutes must be a positive finite number, got nan",
    ),
    Bad(
        "train --max-minutes 0",
        lambda w: cli(*TRAIN, "--max-minutes", "0", "--out", w.root / "n"),
        r"max_minutes must be a positive finite number, got 0",
    ),
    Bad(
        "train --steps 0",
        lambda w: cli(*TRAIN, "--steps", "0", "--out", w.root / "n"),
        r"steps must be a positive integer, got 0",
    ),
    Bad(
        "train --meta-batch 0",
        lambda w: cli(*TRAIN, "--meta-batch", "0", "--out", w.root / "n"),
        r"meta_batch must be a positive integer, got 0",
    ),
    Bad(
        "train --val-episodes 0",
        lambda w: cli(*TRAIN, "--val-episodes", "0", "--out", w.root / "n"),
        r"val_episodes must be a positive integer, got 0",
    ),
    Bad("train --ways 1", lambda w: cli(*TRAIN, "--ways", "1", "--out", w.root / "n"), r"at least 2 ways"),
    Bad("train --shots 0", lambda w: cli(*TRAIN, "--shots", "0", "--out", w.root / "n"), r"at least 1 shot"),
    Bad(
        "train --seed -1",
        lambda w: cli(*TRAIN, "--seed", "-1", "--out", w.root / "n"),
        r"seed must be an integer of at least 0 \(or None for fresh randomness\), got -1",
    ),
    Bad(
        "train --augment-strength nan",
        lambda w: cli(*TRAIN, "--augment-strength", "nan", "--out", w.root / "n"),
        r"--augment-strength must be at least 0 and below 10",
    ),
    Bad(
        "train --image-size 3",
        lambda w: cli(*TRAIN, "--image-size", "3", "--out", w.root / "n"),
        r"image_size must be an int\w* of at least 8 pixels, got 3",
    ),
    Bad(
        "evaluate --episodes 0",
        lambda w: cli("evaluate", w.run, "--episodes", "0"),
        r"episodes must be a positive integer, got 0",
    ),
    Bad(
        "evaluate --seed -3",
        lambda w: cli("evaluate", w.run, "--seed", "-3", "--episodes", "2"),
        r"seed must be an integer of at least 0",
    ),
    Bad(
        "evaluate --ways 2000",
        lambda w: cli("evaluate", w.run, "--ways", "2000", "--episodes", "2"),
        r"asked for 2000 ways but the 'test' split of glyphs has only \d+ classes",
    ),
    Bad(
        "evaluate --shifted-views -1",
        lambda w: cli("evaluate", w.run, "--shifted-views", "-1", "--episodes", "2"),
        r"--shifted-views must be 0 \(none\) or more pixels, got -1",
    ),
    # 7. damaged caches heal: detected, named, rebuilt from their source
    Bad(
        "a folder dataset's cache cut in half",
        load_drawings,
        r"the cached dataset file '.*drawings_\w+-\w+.npz' is damaged \(BadZipFile: .*\); "
        r"rebuilding it from its source",
        prepare=lambda w: (cached_drawings(w), cut_in_half(folder_cache(w))),
        kept=rebuilt_drawings,
    ),
    Bad(
        "a folder dataset's cache of random bytes",
        load_drawings,
        r"drawings_\w+-\w+.npz' is damaged .*; rebuilding it",
        prepare=lambda w: (cached_drawings(w), folder_cache(w).write_bytes(os.urandom(300))),
        kept=rebuilt_drawings,
    ),
    Bad(
        "a folder dataset's cache with arrays that do not fit",
        load_drawings,
        r"is damaged: its images \(uint8, shape \(2, 1, 4, 4\)\), targets \(shape \(2,\)\) and 1 classes do not fit "
        r"together; rebuilding it",
        prepare=lambda w: (cached_drawings(w), wrong_arrays(folder_cache(w))),
        kept=rebuilt_drawings,
    ),
    # 8. writes killed half-way leave temporaries that the next write removes; a live writer's are kept
    Bad("SIGKILL while writing best.pt, then resume", killed_mid_write_then_resumed, "", kept=stale_temporaries_gone),
    Bad(
        "temporaries of dead writers, then resume",
        resumed,
        "",
        prepare=dead_writers_temporaries,
        kept=stale_temporaries_gone,
    ),
    Bad("a live writer's temporary", live_writers_temporary, "", kept=lambda w: None),
    Bad("another file's temporary with a longer name", another_destinations_temporary, "", kept=lambda w: None),
    # 9. files that are not checkpoints: one line, never torch's advice to load them unsafely
    Bad(
        "evaluate a last.pt of random bytes",
        lambda w: cli("evaluate", w.run),
        r"'.*last.pt' is not a readable fewshot_lab checkpoint: it is damaged \(cut short or altered\), or it holds "
        r"more than tensors and plain values; it was not loaded",
        prepare=lambda w: write_file(w.run / "last.pt", os.urandom(400)),
    ),
    Bad(
        "evaluate a hostile pickle",
        lambda w: cli("evaluate", w.run),
        r"is not a readable fewshot_lab checkpoint",
        prepare=hostile_checkpoint,
        kept=no_file_named("pwned"),
    ),
    Bad(
        "resume from a hostile pickle",
        lambda w: cli(*TRAIN, "--resume", "--out", w.run),
        r"is not a readable fewshot_lab checkpoint",
        prepare=hostile_checkpoint,
        kept=no_file_named("pwned"),
    ),
    Bad(
        "evaluate a best.pt cut in half",
        lambda w: cli("evaluate", w.run),
        r"'.*best.pt' is not a readable fewshot_lab checkpoint",
        prepare=lambda w: cut_in_half(w.run / "best.pt"),
    ),
    Bad(
        "resume from a last.pt cut in half",
        lambda w: cli(*TRAIN, "--resume", "--out", w.run),
        r"'.*last.pt' is not a readable fewshot_lab checkpoint",
        prepare=lambda w: cut_in_half(w.run / "last.pt"),
    ),
    Bad(
        "compare a run with an empty last.pt",
        lambda w: cli("compare", w.run, "--out", w.root / "t.md"),
        r"is not a readable fewshot_lab checkpoint",
        prepare=lambda w: write_file(w.run / "last.pt", b""),
    ),
    Bad(
        "load() a torch file that is not a checkpoint",
        lambda w: refused(lambda: load(w.root / "x.pt")),
        r"'.*x.pt' is not a fewshot_lab checkpoint \(expected format 'fewshot_lab-checkpoint-1'\)",
        prepare=lambda w: torch.save({"weights": 1}, w.root / "x.pt"),
    ),
    Bad("evaluate a missing run", lambda w: cli("evaluate", w.root / "nothing"), r"no checkpoint at '.*nothing'"),
]


@pytest.mark.slow
@pytest.mark.parametrize("bad", BAD, ids=[bad.name for bad in BAD])
def test_bad_inputs_and_faults_are_told_and_lose_nothing(bad: Bad, world: World):
    if bad.prepare is not None:
        bad.prepare(world)
    before = world.files()
    said = bad.act(world)
    assert re.search(bad.says, said), said
    assert "weights_only" not in said and "Traceback" not in said
    if bad.kept is None:
        assert world.files() == before  # nothing written, nothing removed, nothing changed
    else:
        bad.kept(world)


def test_a_final_run_replacing_a_folder_is_what_evaluate_and_compare_read(world, capsys):
    assert main([*TRAIN, "--final", "--replace", "--out", str(world.run)]) == 0
    assert sorted(p.name for p in world.run.iterdir()) == ["last.pt"]  # the old run's best.pt is gone with it
    last = read_checkpoint(world.run / "last.pt")
    for name, tensor in saved(world).learner.state_dict().items():
        assert torch.equal(tensor, last["weights"][name]), name
    capsys.readouterr()
    assert (
        main(
            [
                "compare",
                str(world.run),
                "--settings",
                "3x1",
                "--episodes",
                "2",
                "--queries",
                "2",
                "--out",
                str(world.root / "t.md"),
            ]
        )
        == 0
    )
    cell = json.loads((world.root / "t.json").read_text())["cells"][0]
    assert cell["training_steps"] == 4 and cell["training_seconds"] == last["training"]["history"]["seconds"]


def test_replacing_a_run_clears_its_temporaries_and_resume_keeps_one_record(world):
    write_file(world.run / f".best.pt.{dead_pid()}-0ldrun00.part", b"the old run's")
    before = read_checkpoint(world.run / "last.pt")["training"]["run"]
    assert main([*TRAIN, "--seed", "3", "--replace", "--out", str(world.run)]) == 0
    assert sorted(p.name for p in world.run.iterdir()) == ["best.pt", "last.pt"]
    best, last = (read_checkpoint(world.run / name)["training"] for name in ("best.pt", "last.pt"))
    assert best["run"] == last["run"] != before and last["plan"]["seed"] == 3
    assert main([*TRAIN, "--seed", "3", "--steps", "6", "--resume", "--out", str(world.run)]) == 0
    resumed = read_checkpoint(world.run / "last.pt")["training"]
    assert resumed["run"] == last["run"] and resumed["step"] == 6
    load(world.run)  # best.pt and last.pt are still one record


def test_evaluate_json_is_json_without_nan(world, capsys):
    assert main(["evaluate", str(world.run), "--ways", "3", "--queries", "2", "--episodes", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out, parse_constant=lambda name: pytest.fail(f"bare {name} in JSON"))
    assert record["ci95"] is None and record["episodes"] == 1  # one task has no confidence interval


def test_a_damaged_omniglot_cache_is_rebuilt_from_its_archive(omniglot_small_dataset, tmp_path, monkeypatch):
    session = Path(os.environ["FEWSHOT_LAB_DATA"]) / "omniglot"
    monkeypatch.setenv("FEWSHOT_LAB_DATA", str(tmp_path))
    shutil.copytree(session, tmp_path / "omniglot")  # the archives and both caches
    cache = tmp_path / "omniglot" / "images_background_small1-28.npz"
    cut_in_half(cache)
    with pytest.warns(
        UserWarning,
        match=r"the cached dataset file '.*images_background_small1-28.npz' is damaged "
        r"\(BadZipFile: .*\); rebuilding it from its source",
    ):
        dataset = load_dataset("omniglot-small", download=False)
    assert torch.equal(dataset.images, omniglot_small_dataset.images)
    assert torch.equal(dataset.targets, omniglot_small_dataset.targets)
    load_arrays(cache)  # whole again
    (tmp_path / "omniglot" / "archives" / "images_background_small1.zip").unlink()
    cut_in_half(cache)
    with (
        pytest.warns(UserWarning, match="is damaged"),
        pytest.raises(
            FileNotFoundError,
            match=r"the Omniglot archive images_background_small1.zip is not in .* and download=False",
        ),
    ):
        load_dataset("omniglot-small", download=False)  # no source to rebuild from: said, not hidden


def test_an_interrupted_downloads_temporary_is_removed_by_the_next_download(omniglot_server, fewshot_data):
    archives = fewshot_data / "omniglot" / "archives"
    left = write_file(archives / ".images_background_small1.zip.8m4x2q1z.part", b"half an archive")
    load_dataset("omniglot-small")
    assert not left.exists() and sorted(p.name for p in archives.iterdir()) == [
        "images_background_small1.zip",
        "images_background_small2.zip",
    ]


# --- pictures read as a person sees them: every kind of file shows the same T and slanted grey stroke ---

DARK_STROKES = [
    "strokes_grey.png",
    "strokes_rgb.png",
    "strokes_rgba.png",
    "strokes_la.png",
    "strokes_palette.png",
    "strokes_palette_transparent.png",
    "strokes_16bit.png",
    "strokes_cmyk.tif",
]


def reference_ink() -> np.ndarray:
    """The drawing as ink, uint8 [1, 20, 20]: 255 on the black strokes, 127 on the grey one, 0 on the paper."""
    return 255 - np.asarray(Image.open(PICTURES / "strokes_grey.png"))[None]


@pytest.mark.parametrize("name", DARK_STROKES)
def test_each_kind_of_picture_keeps_its_strokes(name):
    with Image.open(PICTURES / name) as picture:
        assert np.array_equal(Preprocessing(20, invert=True)(picture), reference_ink())


def test_light_strokes_on_transparent_paper_go_onto_a_dark_background():
    with Image.open(PICTURES / "light_strokes_rgba.png") as picture:  # white strokes, transparent white paper
        assert np.array_equal(Preprocessing(20, invert=False)(picture), reference_ink())


def test_a_one_bit_picture_keeps_its_strokes():
    with Image.open(PICTURES / "strokes_1bit.png") as picture:  # as Omniglot's drawings: no grey
        assert np.array_equal(Preprocessing(20, invert=True)(picture), np.where(reference_ink() > 0, 255, 0))


def test_a_folder_dataset_and_predict_read_every_kind_alike(tmp_path, world):
    for name in DARK_STROKES:
        write_file(tmp_path / "kinds" / name.replace(".", "_") / name, (PICTURES / name).read_bytes())
    dataset = load_dataset(str(tmp_path / "kinds"), image_size=20, invert=True)
    for image in dataset.images:
        assert np.array_equal(image.numpy(), reference_ink())
    learner = saved(world)  # trained on glyphs: dark strokes, inverted, 28 pixels
    images = learner.images([PICTURES / name for name in DARK_STROKES], "query")  # [kinds, 1, 28, 28]
    grey = learner.images([PICTURES / "strokes_grey.png"], "query")[0]
    for name, image in zip(DARK_STROKES, images):
        assert torch.equal(image, grey), name
    assert grey.max() == 1 and grey.min() == 0  # ink and paper both there

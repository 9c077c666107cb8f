"""Every data source by name through one loader.

load_dataset("glyphs")                  # the embedded default, generated from bundled fonts
load_dataset("omniglot-small")          # the two minimal Omniglot background sets (downloaded once)
load_dataset("omniglot", split="vinyals", rotations=True)
load_dataset("sinusoid")                # MAML's regression task family
load_dataset("copy")                    # the Neural Turing Machine's copy task
load_dataset("babi-1")                  # stories with questions, bAbI-style task 1 (babi-2: task 2)
load_dataset("path/to/my_images")       # a folder of class folders
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    name: str
    module: str
    loader: str
    description: str
    size: str


SOURCES = {
    source.name: source
    for source in (
        Source(
            "glyphs",
            "fewshot_lab.data.glyphs",
            "load_glyphs",
            "handwriting-like characters of many alphabets, generated from matplotlib's bundled fonts "
            "(offline default)",
            "generated on first use",
        ),
        Source(
            "omniglot",
            "fewshot_lab.data.omniglot",
            "load_omniglot",
            "Omniglot (Lake et al. 2015): 50 alphabets, 1623 characters x 20 drawers; Lake or Vinyals split",
            "15.9 MB download",
        ),
        Source(
            "omniglot-small",
            "fewshot_lab.data.omniglot",
            "load_omniglot_small",
            "Omniglot's two minimal background sets: 8 alphabets, 242 characters; fixed alphabet-wise split",
            "2.9 MB download",
        ),
        Source(
            "sinusoid",
            "fewshot_lab.data.sinusoid",
            "SinusoidFamily",
            "MAML's sine-wave regression tasks, y = A sin(x - phase)",
            "generated per task",
        ),
        Source(
            "copy",
            "fewshot_lab.data.copy_task",
            "CopyTasks",
            "the Neural Turing Machine's copy task (Graves et al. 2014): random 8-bit vectors, delimiter, recall",
            "generated per task",
        ),
        Source(
            "babi-1",
            "fewshot_lab.data.stories",
            "single_supporting_fact",
            "stories of people moving, 'where is mary?': bAbI-style task 1, generated from a small grammar",
            "generated per task",
        ),
        Source(
            "babi-2",
            "fewshot_lab.data.stories",
            "two_supporting_facts",
            "stories of people moving and carrying objects, 'where is the milk?': bAbI-style task 2, generated",
            "generated per task",
        ),
    )
}


def _describe_known() -> str:
    return ", ".join(SOURCES) + ", or the path of a folder of class folders"


def load_dataset(name: str, **options):
    """Load a dataset by name (see SOURCES) or from a folder path; options go to that source's loader."""
    if not isinstance(name, (str, Path)):
        raise TypeError(f"dataset name must be a string, got {type(name).__name__}")
    if str(name) in SOURCES:
        source = SOURCES[str(name)]
        loader = getattr(importlib.import_module(source.module), source.loader)
    elif Path(name).expanduser().is_dir():
        from fewshot_lab.data.folder import load_folder

        return _call(load_folder, f"folder {str(name)!r}", name, **options)
    else:
        raise ValueError(f"unknown dataset {str(name)!r}: known datasets are {_describe_known()}")
    return _call(loader, f"dataset {str(name)!r}", **options)


def _call(loader, what: str, *args, **options):
    """Call a loader, turning an unknown option into an error that lists the accepted ones."""
    accepted = [p for p in inspect.signature(loader).parameters if p not in ("self", "root")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"{what} takes no option {', '.join(map(repr, unknown))}; its options are {', '.join(accepted) or 'none'}"
        )
    return loader(*args, **options)


def load_saved_dataset(description: dict, name: str | None = None):
    """The dataset a run was trained on, as its checkpoint describes it (with its preprocessing, e.g. the image
    size), or the dataset `name`, loaded at its own size when it is another one."""
    name = name or description["name"]
    options = {}
    if "preprocessing" in description and name == description["name"]:
        options["image_size"] = description["preprocessing"]["image_size"]
    return load_dataset(name, **options)


def list_datasets() -> list[dict]:
    """Name, description, size and whether it is already cached, for each named source."""
    rows = []
    for source in SOURCES.values():
        module = importlib.import_module(source.module)
        if hasattr(module, "is_cached"):
            parameters = inspect.signature(module.is_cached).parameters
            cached = module.is_cached(source.name) if "name" in parameters else module.is_cached()
        else:
            cached = None  # nothing to cache
        rows.append({"name": source.name, "description": source.description, "size": source.size, "cached": cached})
    return rows


def holds_images(dataset) -> bool:
    """Whether a dataset's tasks classify images: not a regression family (sinusoid), nor a family of generated
    tasks (task_family: the copy task's bit sequences, babi-1 and babi-2's stories), which draw their own tasks."""
    return not getattr(dataset, "is_regression", False) and getattr(dataset, "task_family", None) is None


def make_sampler(
    dataset,
    split: str = "train",
    ways: int = 5,
    shots: int = 1,
    queries: int = 15,
    within_alphabet: bool = False,
    seed: int | None = 0,
):
    """A task sampler for any dataset: N-way K-shot classification tasks, or a family's own tasks (K-shot
    regression; copy sequences of length K; stories of K sentences with `queries` questions), where ways is not used."""
    if not holds_images(dataset):
        if within_alphabet:
            raise ValueError(f"{dataset.name} has no alphabets: within_alphabet applies to image datasets only")
        return dataset.sampler(split, shots=shots, queries=queries, seed=seed)
    from fewshot_lab.data.tasks import TaskSampler

    return TaskSampler(
        dataset, split, ways=ways, shots=shots, queries=queries, within_alphabet=within_alphabet, seed=seed
    )

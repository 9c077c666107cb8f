"""fewshot_lab: meta-learning (Chapter 7 of 百面深度学习) by running it.

Importing the package is light: submodules load on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "load_dataset": "fewshot_lab.data",
    "list_datasets": "fewshot_lab.data",
    "FewShotDataset": "fewshot_lab.data.dataset",
    "TaskSampler": "fewshot_lab.data.tasks",
    "stack_tasks": "fewshot_lab.data.tasks",
    "Task": "fewshot_lab.data.tasks",
    "evaluate": "fewshot_lab.evaluation",
    "Evaluation": "fewshot_lab.evaluation",
    "load": "fewshot_lab.saved",
    "meta_train": "fewshot_lab.engine",
    "build_learner": "fewshot_lab.methods",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'fewshot_lab' has no attribute {name!r}")

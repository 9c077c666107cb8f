"""Section 7.3's views of a dataset and its task explorer."""

import matplotlib.pyplot as plt
import pytest
import torch

from fewshot_lab.lessons.s73 import TaskExplorer, show_class, show_split
from tests.test_evaluation import pattern_dataset

pytestmark = pytest.mark.usefixtures("close_figures")


def test_split_and_class_views():
    dataset = pattern_dataset()
    assert len(show_split(dataset, "train", groups=2, per_group=3).axes) == 6
    assert len(show_class(dataset, 0, images=5).axes) == 5


def test_task_explorer_redraws_and_reports_impossible_requests(glyphs_dataset):
    explorer = TaskExplorer(datasets=["glyphs"], seed=0)
    first = explorer.sampler.sample().query_index
    assert bytes(explorer.picture.value).startswith(b"\x89PNG") and plt.get_fignums() == []
    explorer.ways.value = 3
    assert explorer.sampler.ways == 3 and not torch.equal(first, explorer.sampler.sample().query_index)
    small = TaskExplorer(datasets=[pattern_dataset()], seed=0)  # alphabets of 4 classes
    small.within.value = True
    assert small.sampler is None and "within-alphabet tasks of 5 ways" in small.note.value
    assert small.picture.layout.display == "none"
    small.ways.value = 2
    assert small.sampler is not None and small.note.value == "" and small.picture.layout.display is None

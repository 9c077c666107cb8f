"""Section 7.4's cost per task, drawn beside the accuracy."""

import pytest

from fewshot_lab.evaluation import evaluate
from fewshot_lab.lessons.results import plot_accuracy_and_time
from fewshot_lab.lessons.s74 import adaptation_time
from tests.test_evaluation import pattern_dataset
from tests.test_lessons_shared import small

pytestmark = pytest.mark.usefixtures("close_figures")


def test_adaptation_time_and_the_accuracy_time_figure():
    dataset = pattern_dataset()
    learner = small("protonet")
    seconds = adaptation_time(learner, dataset, ways=3, shots=1, queries=2, tasks=3)
    assert 0 < seconds < 5 and learner.training
    evaluations = {
        ("protonet", shots): evaluate(learner, dataset, ways=3, shots=shots, queries=2, episodes=5) for shots in (1, 2)
    }
    evaluations["pixels", 1] = evaluations["protonet", 1]
    times = dict.fromkeys(evaluations, seconds)
    left, right = plot_accuracy_and_time(evaluations, times).axes
    assert len(left.patches) == len(right.patches) == 3 and right.get_xscale() == "log"
    assert [label.get_text() for label in left.get_yticklabels()] == ["protonet", "pixels"]
    assert right.get_xlabel() == "seconds to adapt to one task and label its queries (median)"
    step_label = "seconds per meta-training step"
    assert plot_accuracy_and_time(evaluations, times, time_label=step_label).axes[1].get_xlabel() == step_label
    with pytest.raises(ValueError, match="the same"):
        plot_accuracy_and_time(evaluations, {("protonet", 1): seconds})

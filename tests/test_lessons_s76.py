"""Section 7.6's figures and steppers: one episode through a MANN's memory, one copy sequence through an NTM and
one story through a memory network, step by step."""

import dataclasses

import numpy as np
import pytest
import torch

from fewshot_lab.data.copy_task import CopyTasks
from fewshot_lab.data.sequences import EpisodeSequences
from fewshot_lab.data.stories import StoryTasks
from fewshot_lab.evaluation import accuracy_by_presentation
from fewshot_lab.lessons.s76 import (
    CopyStepper,
    EpisodeStepper,
    StoryStepper,
    memory_trace,
    plot_addressing,
    plot_memory,
    plot_presentation_accuracy,
    plot_slow_and_fast,
    unseen_label_guess,
)
from tests import test_memnet, test_ntm
from tests.test_evaluation import pattern_dataset
from tests.test_mann import small

pytestmark = pytest.mark.usefixtures("close_figures")


def test_memory_figures_and_the_episode_stepper_draw_one_episode():
    learner, dataset = small("mann"), pattern_dataset()
    trace = memory_trace(learner, EpisodeSequences(dataset, "test", ways=3, instances=4, seed=0).sample())
    assert trace.read_weights.shape == (12, 2, 12) and trace.memory.shape == (12, 12, 6)
    assert trace.predictions.shape == (12,) and set(trace.holder(11)) <= {-1, 0, 1, 2}
    labels = trace.episode.labels
    later = int(torch.nonzero(labels != labels[0])[0])  # the first step of another class
    writes = torch.zeros(12, 2, 12)
    writes[0, 0, 3], writes[later, :, 3] = 1.0, 1.5  # slot 3 made at step 0, written more later (as write_to_last does)
    writes[2, 0, 5] = 0.4  # slot 5 only touched lightly
    marked = dataclasses.replace(trace, write_weights=writes)
    expected = np.full(12, -1)
    expected[3] = int(labels[0])
    assert (marked.holder(11) == expected).all() and (marked.holder(0) == expected).all()
    results = {
        name: accuracy_by_presentation(small(name), dataset, ways=3, instances=4, episodes=3, split="test")
        for name in ("mann", "lstm")
    }
    history = {"MANN": ([16, 32], [0.2, 0.4]), "LSTM": ([16, 32], [0.2, 0.3])}
    by_name = {"MANN": results["mann"], "LSTM": results["lstm"]}
    for figure in (
        plot_addressing(trace),
        plot_memory(trace, step=5),
        plot_presentation_accuracy(results),
        plot_slow_and_fast(history, by_name),
    ):
        assert figure.axes
    stepper = EpisodeStepper(learner, dataset, ways=3, instances=4)
    stepper.step.value = 7
    assert stepper.picture.value[:4] == b"\x89PNG" and "step 8" in stepper.note.value


def test_guessing_among_the_unseen_labels_scores_the_harmonic_mean_on_first_drawings():
    assert unseen_label_guess(torch.tensor([2, 0, 0, 1]), ways=3) == pytest.approx((1 / 3 + 1 / 2 + 1) / 3)
    episodes = EpisodeSequences(pattern_dataset(), "test", ways=5, instances=4, seed=0)
    labels = torch.stack([episodes.sample().labels for _ in range(3)])  # [episodes, steps]
    assert unseen_label_guess(labels, ways=5) == pytest.approx(sum(1 / k for k in range(1, 6)) / 5)
    with pytest.raises(ValueError, match=r"0\.\.4 for 5 ways"):
        unseen_label_guess(torch.tensor([0, 5]), ways=5)


def test_the_copy_stepper_walks_the_input_the_delimiter_and_the_recall():
    stepper = CopyStepper(test_ntm.small("ntm"), CopyTasks(bits=4), length=3)
    assert stepper.step.max == 6 and stepper.picture.value[:4] == b"\x89PNG"
    assert "input vector 1 of 3" in stepper.note.value
    stepper.step.value = 3
    assert "the delimiter" in stepper.note.value
    stepper.step.value = 6
    assert "recall of vector 3 of 3" in stepper.note.value and "of 4 bits wrong" in stepper.note.value
    first = stepper.trace.inputs
    stepper.new_episode.click()
    assert not torch.equal(first, stepper.trace.inputs)


def test_the_story_stepper_shows_each_question_with_its_answer():
    stories = StoryTasks(1)
    stepper = StoryStepper(test_memnet.small(), stories, shots=5, queries=2)
    assert stepper.step.max == 1 and "question 1 of 2" in stepper.note.value
    stepper.step.value = 1
    answer = stories.vocabulary[int(stepper.story.query_y[1])]
    assert "question 2 of 2" in stepper.note.value and stepper.note.value.endswith(f"The answer: {answer}")
    assert stepper.picture.value[:4] == b"\x89PNG"

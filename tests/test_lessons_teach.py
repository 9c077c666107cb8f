"""The class demo's learner side (fewshot_lab.lessons.teach): the answer is the nearest prototype, its figure draws,
and requests it cannot answer are refused in words."""

import pytest
import torch

from fewshot_lab.lessons.teach import TeachIt, plot_answer
from fewshot_lab.pad import shape_strokes


def test_the_answer_is_the_class_of_the_nearest_prototype_and_its_softmax(close_figures):
    demo = TeachIt(["circle", "cross", "wave"])
    demo.draw_examples(shots=2)
    answer = demo.explain()
    assert answer.label == "circle" and answer.classes == ["circle", "cross", "wave"]
    assert answer.classes[int(answer.distances.argmin())] == answer.label
    assert torch.allclose(
        answer.probabilities, torch.softmax(-answer.distances, 0)
    ) and answer.probabilities.sum() == pytest.approx(1)
    scores, classes = demo.saved.scores(*demo.pad.support(), [demo.pad.drawing()])  # the learner's own scores
    assert classes == answer.classes and torch.allclose(-scores[0], answer.distances, rtol=1e-4, atol=1e-4)
    assert answer.embedded.shape[0] == 6 + 3 + 1  # drawings, prototypes, query
    assert len(plot_answer(answer).axes) == 1 + 3 + 2


def test_what_it_cannot_answer_is_refused_in_words():
    demo = TeachIt(["circle", "cross"])
    demo.pad.strokes = shape_strokes("circle")
    demo.pad.add("circle")
    demo.pad.strokes = shape_strokes("circle", radius=0.2)
    with pytest.raises(ValueError, match="add drawings to at least two classes first"):
        demo.explain()
    demo.draw_examples(shots=1)
    demo.start_again()
    assert demo.pad.support() == ([], []) and demo.pad.thumbnails == {"circle": [], "cross": []}
    with pytest.raises(ValueError, match="TeachIt explains a Prototypical Network; 'mann_omniglot' is a mann"):
        TeachIt(learner="mann_omniglot")

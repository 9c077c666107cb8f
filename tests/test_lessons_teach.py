"""The class demo's learner side (fewshot_lab.lessons.teach): each of the five learners answers as its method does
(the nearest prototype, the attention-weighted labels, the nearest drawing, gradient steps), its figure draws, and
requests it cannot answer are refused in words."""

import pytest
import torch

from fewshot_lab.lessons.teach import LEARNERS, TeachIt, plot_answer
from fewshot_lab.pad import shape_strokes


@pytest.fixture(scope="module")
def demo():
    demo = TeachIt(["circle", "cross", "wave"])
    demo.draw_examples(shots=2)  # and a new circle on the pad as the query
    return demo


def test_the_prototypical_network_answers_with_the_nearest_prototype_and_its_softmax(demo, close_figures):
    answer = demo.explain("Prototypical Networks")
    assert answer.label == "circle" and answer.classes == ["circle", "cross", "wave"]
    assert answer.classes[int(answer.per_class.argmin())] == answer.label
    assert torch.allclose(answer.probabilities, torch.softmax(-answer.per_class, 0))
    saved = demo.saved("Prototypical Networks")
    scores, classes = saved.scores(*demo.pad.support(), [demo.pad.drawing()])  # the learner's own scores
    assert classes == answer.classes and torch.allclose(-scores[0], answer.per_class, rtol=1e-4, atol=1e-4)
    assert answer.embedded.shape[0] == 6 + 3 + 1  # drawings, prototypes, query
    assert len(plot_answer(answer).axes) == 1 + 3 + 2


def test_matching_networks_sum_the_attention_over_each_class(demo, close_figures):
    answer = demo.explain("Matching Networks")
    assert answer.per_drawing.shape == (6,) and answer.per_drawing.sum() == pytest.approx(1, abs=1e-5)
    for k in range(3):  # P(y = k) = sum of the attention on class k's drawings
        assert answer.per_class[k] == pytest.approx(float(answer.per_drawing[answer.support_y == k].sum()), abs=1e-5)
    saved = demo.saved("Matching Networks")
    scores, _ = saved.scores(*demo.pad.support(), [demo.pad.drawing()])
    assert torch.allclose(scores[0].exp(), answer.probabilities, atol=1e-5)
    assert answer.label == "circle"
    plot_answer(answer)


def test_k_nn_answers_with_the_class_of_the_nearest_drawing(demo, close_figures):
    answer = demo.explain("k-NN")
    nearest = int(answer.per_drawing.argmin())
    assert answer.label == answer.classes[int(answer.support_y[nearest])] == "circle"
    assert answer.per_class[answer.classes.index("circle")] == answer.per_drawing[nearest]
    assert answer.embedded.shape[0] == 6 + 1  # drawings, query
    plot_answer(answer)


@pytest.mark.parametrize("name", ["fine-tuning", "MAML"])
def test_the_gradient_learners_trace_the_query_step_by_step(demo, name, close_figures):
    saved = demo.saved(name)
    weights = {key: value.clone() for key, value in saved.learner.state_dict().items()}
    answer = demo.explain(name)
    assert answer.steps[0] == 0 and answer.steps[-1] == (100 if name == "fine-tuning" else 10)
    assert answer.trace.shape == (len(answer.steps), 3)
    assert torch.allclose(answer.trace.sum(1), torch.ones(len(answer.steps)), atol=1e-5)
    assert torch.allclose(answer.trace[-1], answer.probabilities, atol=1e-5)
    assert answer.label == "circle" and answer.trace[-1, 0] > answer.trace[0, 0]  # the steps moved it to the circle
    assert all(torch.equal(value, weights[key]) for key, value in saved.learner.state_dict().items())  # unchanged
    plot_answer(answer)


def test_each_learner_in_the_menu_is_shipped_and_the_menu_switches_the_answer(demo):
    assert set(LEARNERS) == {"Prototypical Networks", "Matching Networks", "k-NN", "fine-tuning", "MAML"}
    demo.menu.value = "k-NN"
    assert demo.answer.learner == "k-NN" and demo.message.value.startswith("<b>k-NN: it is a circle</b>")
    assert bytes(demo.picture.value).startswith(b"\x89PNG") and demo.picture.layout.display is None  # its figure, shown
    demo.menu.value = "Prototypical Networks"
    assert demo.answer.learner == "Prototypical Networks"


def test_what_it_cannot_answer_is_refused_in_words():
    demo = TeachIt(["circle", "cross", "wave", "zigzag", "tick", "star"], learner="MAML")
    demo.pad.strokes = shape_strokes("circle")
    demo.pad.add("circle")
    demo.pad.strokes = shape_strokes("circle", radius=0.2)
    with pytest.raises(ValueError, match="add drawings to at least two classes first"):
        demo.explain()
    for label in demo.pad.labels[1:]:
        demo.pad.add(label, shape_strokes("cross"))
    with pytest.raises(ValueError, match="MAML was meta-trained with 5 outputs: use at most 5 classes"):
        demo.explain()
    demo.show()  # refused in words on the page, not raised
    assert "use at most 5 classes" in demo.message.value and demo.picture.layout.display == "none"
    demo.start_again()
    assert demo.pad.support() == ([], []) and all(images == [] for images in demo.pad.thumbnails.values())
    assert demo.message.value.startswith("All drawings forgotten")
    with pytest.raises(ValueError, match="no demo learner 'mann': choose one of Prototypical Networks, Matching"):
        TeachIt(learner="mann")

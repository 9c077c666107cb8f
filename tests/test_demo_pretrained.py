"""The ProtoNet shipped for the drawing-pad demo (fewshot_lab/pretrained/protonet_omniglot.pt): small, made by
its recipe, accurate on Omniglot's meta-test alphabets, and able to tell apart symbols drawn on the pad."""

import math

import pytest

import fewshot_lab as fsl
from fewshot_lab.evaluation import evaluate
from fewshot_lab.methods.protonet import PrototypicalNetwork
from fewshot_lab.pad import strokes_to_image
from fewshot_lab.pretrained import FOLDER, load_pretrained, recipe, short_fingerprint

NAME = "protonet_omniglot"


def test_the_shipped_protonet_is_small_and_loads_with_its_commands():
    assert (FOLDER / f"{NAME}.pt").stat().st_size < 2**20
    learner = load_pretrained(NAME)
    assert isinstance(learner, PrototypicalNetwork) and not learner.training
    assert learner.pretrained["commands"] == ["fewshot-lab " + " ".join(line) for line in recipe(NAME)]
    assert learner.pretrained["dataset"]["name"] == "omniglot-small"
    assert fsl.load(NAME).learner.method == "protonet"  # fewshot_lab.load takes a shipped model's name


@pytest.mark.slow
def test_the_recipe_still_trains_the_same_way_and_a_tenth_more_learning_rate_does_not(omniglot_small_dataset):
    """The recipe run for 3 steps in float64 on one thread gives the fingerprint shipped with the model: kernels and
    threads move such a fingerprint by about 3e-8 (results/fingerprint.md), a tenth more learning rate by far more
    than the tolerance, 1e-5."""
    shipped = load_pretrained(NAME).pretrained["short_fingerprint"]
    assert short_fingerprint(NAME) == pytest.approx(shipped, rel=1e-5)

    def faster(line):
        return [("2.2e-3" if word == "2e-3" else word) for word in line]

    changed = short_fingerprint(NAME, edit=faster)
    assert max(abs(a - b) / abs(b) for a, b in zip(changed, shipped)) > 1e-3


def test_the_shipped_protonet_is_accurate_on_meta_test_alphabets(omniglot_small_dataset):
    learner = load_pretrained(NAME)
    result = evaluate(learner, omniglot_small_dataset, ways=5, shots=1, queries=5, episodes=100, split="test", seed=0)
    assert result.mean > 0.9  # chance is 0.2


def circle(cx, cy, r):
    return [[cx + r * math.cos(2 * math.pi * k / 24), cy + r * math.sin(2 * math.pi * k / 24)] for k in range(25)]


def cross(cx, cy, r):
    return [[cx - r, cy - r], [cx + r, cy + r]], [[cx + r, cy - r], [cx - r, cy + r]]


def zigzag(cx, cy, r):
    return ([[cx - r + k * r / 2, cy + (r if k % 2 else -r) * 0.6] for k in range(5)],)


def test_symbols_drawn_on_the_pad_are_told_apart(omniglot_small_dataset):
    """Three shapes, two drawings of each at other places and sizes, then a new drawing of each."""
    shapes = {"circle": lambda *a: (circle(*a),), "cross": cross, "zigzag": zigzag}
    drawings = {
        name: [strokes_to_image(list(draw(cx, cy, r))) for cx, cy, r in [(0.5, 0.5, 0.3), (0.45, 0.55, 0.25)]]
        for name, draw in shapes.items()
    }
    support = [picture for name in shapes for picture in drawings[name]]
    labels = [name for name in shapes for _ in drawings[name]]
    queries = [strokes_to_image(list(draw(0.55, 0.48, 0.33))) for draw in shapes.values()]
    assert fsl.load(NAME).predict(support, labels, queries) == list(shapes)

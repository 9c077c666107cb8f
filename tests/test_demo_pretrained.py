"""The learners shipped for the drawing-pad demo (notebooks/teach_it.ipynb; fewshot_lab/pretrained): small, made by
their recipes on any CPU, accurate on Omniglot's meta-test alphabets, and able to tell apart symbols drawn on the
pad (tests/data/pad_drawings.json)."""

import json
from pathlib import Path

import pytest
import torch

import fewshot_lab as fsl
from fewshot_lab.evaluation import evaluate
from fewshot_lab.lessons.teach import LEARNERS, demo_learner
from fewshot_lab.methods.baseline import PretrainedNearestNeighbour
from fewshot_lab.methods.maml import MAML
from fewshot_lab.methods.matching import MatchingNetwork
from fewshot_lab.methods.protonet import PrototypicalNetwork
from fewshot_lab.pad import strokes_to_image
from fewshot_lab.pretrained import FOLDER, load_pretrained, recipe, short_fingerprint
from tests.test_mann_pretrained import FINGERPRINT_TOLERANCE

DEMO = {
    "protonet_omniglot": PrototypicalNetwork,
    "matching_omniglot": MatchingNetwork,
    "knn_omniglot": PretrainedNearestNeighbour,
    "maml_omniglot": MAML,
}
# 5-way 1-shot accuracy on 100 meta-test tasks, well below what each measured on 600 (results/demo_learners.md)
LEAST_ACCURACY = {"protonet_omniglot": 0.9, "matching_omniglot": 0.85, "knn_omniglot": 0.85, "maml_omniglot": 0.7}
DRAWINGS = Path(__file__).parent / "data" / "pad_drawings.json"


@pytest.mark.parametrize("name", DEMO)
def test_a_demo_learner_is_small_and_loads_with_its_commands(name):
    assert (FOLDER / f"{name}.pt").stat().st_size < 2**20
    learner = load_pretrained(name)
    assert isinstance(learner, DEMO[name]) and not learner.training
    assert learner.pretrained["commands"] == ["fewshot-lab " + " ".join(line) for line in recipe(name)]
    assert learner.pretrained["dataset"]["name"] == "omniglot-small"
    assert fsl.load(name).learner.method == DEMO[name].method  # fewshot_lab.load takes a shipped model's name


def tenth_more_learning_rate(line: list[str]) -> list[str]:
    """The command with its Adam learning rate (the CLI's default, 1e-3, where it names none) a tenth higher."""
    if "--lr" not in line:
        return [*line, "--lr", "1.1e-3"]
    at = line.index("--lr") + 1
    return [*line[:at], repr(1.1 * float(line[at])), *line[at + 1 :]]


@pytest.mark.slow
@pytest.mark.parametrize("name", DEMO)
def test_the_recipe_still_trains_the_same_way_and_a_tenth_more_learning_rate_does_not(name, omniglot_small_dataset):
    """The recipe run for 3 steps in float64 on one thread gives the fingerprint shipped with the model: kernels and
    threads move such a fingerprint by about 3e-8 (results/fingerprint.md), a tenth more learning rate by far more
    than the tolerance, 1e-5."""
    shipped = load_pretrained(name).pretrained["short_fingerprint"]
    assert short_fingerprint(name) == pytest.approx(shipped, rel=FINGERPRINT_TOLERANCE)
    changed = short_fingerprint(name, edit=tenth_more_learning_rate)
    assert max(abs(a - b) / abs(b) for a, b in zip(changed, shipped)) > 100 * FINGERPRINT_TOLERANCE


@pytest.mark.parametrize("name", DEMO)
def test_a_demo_learner_is_accurate_on_meta_test_alphabets(name, omniglot_small_dataset):
    learner = load_pretrained(name)
    result = evaluate(learner, omniglot_small_dataset, ways=5, shots=1, queries=5, episodes=100, split="test", seed=0)
    assert result.mean > LEAST_ACCURACY[name]  # chance is 0.2


def pad_tasks(shots: int):
    """Tasks from the stored pad drawings: every symbol a class, its first `shots` drawings the support set and the
    rest the queries."""
    drawings = json.loads(DRAWINGS.read_text())["drawings"]  # {symbol: [strokes of one drawing, ...]}
    support, labels, queries, truth = [], [], [], []
    for symbol, examples in drawings.items():
        images = [strokes_to_image(strokes) for strokes in examples]
        support += images[:shots]
        labels += [symbol] * shots
        queries += images[shots:]
        truth += [symbol] * (len(images) - shots)
    return support, labels, queries, truth


@pytest.mark.parametrize("menu", LEARNERS)
def test_every_demo_learner_tells_apart_symbols_drawn_on_the_pad(menu):
    """Five symbols, one drawing each to learn from, the other drawings of each to label; chance is 20%."""
    saved = demo_learner(menu)
    support, labels, queries, truth = pad_tasks(shots=1)
    with torch.no_grad():
        predicted = saved.predict(support, labels, queries)
    accuracy = sum(p == t for p, t in zip(predicted, truth)) / len(truth)
    assert accuracy > 0.6, f"{menu}: {accuracy:.0%} of {len(truth)} pad drawings"

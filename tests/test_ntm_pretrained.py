"""The Neural Turing Machine and its LSTM baseline shipped for notebook 7.6 (fewshot_lab/pretrained): small, loadable,
copying as results/ntm_copy.md says, and still made by their recipe."""

import pytest

from fewshot_lab.data import load_dataset
from fewshot_lab.evaluation import evaluate
from fewshot_lab.methods.copying import CopyLSTM
from fewshot_lab.methods.ntm import NeuralTuringMachine
from fewshot_lab.pretrained import FOLDER, RECIPES, load_pretrained, recipe, short_fingerprint
from tests.test_demo_pretrained import DEMO
from tests.test_mann_pretrained import FINGERPRINT_TOLERANCE
from tests.test_mann_pretrained import SHIPPED as SHIPPED_FOR_OMNIGLOT

SHIPPED = {"ntm_copy": NeuralTuringMachine, "lstm_copy": CopyLSTM}


def test_every_recipe_ships_a_tested_model():
    assert set(RECIPES) == set(SHIPPED) | set(SHIPPED_FOR_OMNIGLOT) | set(DEMO)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_copy_models_are_small_and_load_with_their_commands(name):
    assert (FOLDER / f"{name}.pt").stat().st_size < 2**20
    learner = load_pretrained(name)
    assert isinstance(learner, SHIPPED[name]) and not learner.training and learner.bits == 8
    assert learner.pretrained["commands"] == ["fewshot-lab " + " ".join(line) for line in recipe(name)]
    assert learner.pretrained["dataset"]["name"] == "copy"


def test_the_shipped_ntm_copies_twice_the_trained_length_where_the_lstm_fails():
    """Trained on lengths 1 to 10, on 30 seeded test sequences (results/ntm_copy.md measures 100)."""
    copy = load_dataset("copy")
    ntm, lstm = load_pretrained("ntm_copy"), load_pretrained("lstm_copy")
    assert evaluate(ntm, copy, shots=10, episodes=30).mean < 0.5
    assert evaluate(ntm, copy, shots=20, episodes=30).mean < 1
    assert evaluate(lstm, copy, shots=20, episodes=30).mean > 10


@pytest.mark.parametrize("name", SHIPPED)
def test_the_recipe_still_trains_the_same_way(name):
    """The shipped model's command, run for a few steps in float64 on one thread, gives the weights it gave when the
    model was exported (the full run takes minutes; this catches any change of code or data that would change its
    trajectory). The tolerance is tests/test_mann_pretrained.py's, 1e-5 (relative). Measured on the machine that
    exported them: ATEN_CPU_CAPABILITY=default or a second thread moved the fingerprints by at most 6e-15, a 1% higher
    learning rate by 8.3e-3 (NTM) and 3.2e-3 (LSTM)."""
    shipped = load_pretrained(name).pretrained["short_fingerprint"]
    assert short_fingerprint(name) == pytest.approx(shipped, rel=FINGERPRINT_TOLERANCE)

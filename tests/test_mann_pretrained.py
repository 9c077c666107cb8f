"""The models shipped for notebook 7.6 (fewshot_lab/pretrained): small, loadable, and still made by their recipe."""
import pytest

from fewshot_lab.methods.mann import LSTMBaseline, MemoryAugmentedNetwork
from fewshot_lab.pretrained import FOLDER, RECIPES, load_pretrained, recipe, short_fingerprint

SHIPPED = {"mann_omniglot": MemoryAugmentedNetwork, "lstm_omniglot": LSTMBaseline}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_are_small_and_load_with_their_commands(name):
    assert (FOLDER / f"{name}.pt").stat().st_size < 2 * 2 ** 20
    learner = load_pretrained(name)
    assert isinstance(learner, SHIPPED[name]) and not learner.training
    assert learner.encoder == "conv4" and learner.freeze_encoder
    assert learner.pretrained["commands"] == ["fewshot-lab " + " ".join(line) for line in recipe(name)]
    assert learner.pretrained["dataset"]["name"] == "omniglot-small"


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="no pretrained model 'mann_glyphs'; shipped: lstm_omniglot, mann_omniglot"):
        load_pretrained("mann_glyphs")
    with pytest.raises(ValueError, match="no recipe named"):
        recipe("mann_glyphs")


def test_the_recipe_still_trains_the_same_way(omniglot_small_dataset):
    """The shipped MANN's commands, run for a few steps each, give the weights they gave when it was exported
    (the full run is about 36 minutes of one core; this catches any change of code or data that would change its trajectory)."""
    assert set(RECIPES) == set(SHIPPED)
    shipped = load_pretrained("mann_omniglot").pretrained["short_fingerprint"]
    assert short_fingerprint("mann_omniglot") == pytest.approx(shipped, rel=1e-6)

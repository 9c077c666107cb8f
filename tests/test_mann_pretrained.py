"""The models shipped for notebook 7.6 (fewshot_lab/pretrained): small, loadable, and still made by their recipe."""
import json
from pathlib import Path

import pytest
import torch

from fewshot_lab.methods.mann import LSTMBaseline, MemoryAugmentedNetwork
import fewshot_lab.pretrained as pretrained
from fewshot_lab.checkpoints import read_checkpoint
from fewshot_lab.cli import main
from fewshot_lab.pretrained import (FINGERPRINTS, FOLDER, RECIPES, cpu_description, export, known_fingerprints,
                                    load_pretrained, recipe, short_fingerprint)

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
    (the full run is about 36 minutes of one core; this catches any change of code or data that would change its trajectory).

    Exact (to 1e-6) on the kinds of CPU on record: on another processor the same code moves the fingerprint by
    0.13% (a second thread by 2.3%), and changes of the recipe move it by 2.4% (a tenth more learning rate for the
    k-NN encoder) and up, so no looser bound could tell the arithmetic from the recipe."""
    assert set(RECIPES) == set(SHIPPED)
    known = known_fingerprints("mann_omniglot")
    measured = short_fingerprint("mann_omniglot")
    assert any(measured == pytest.approx(values, rel=1e-6) for values in known.values()), (
        f"the short recipe gives {measured} on this CPU ({cpu_description()}), which matches no fingerprint on "
        f"record ({', '.join(known)}): either the code or data changed the recipe's trajectory, or this is a new "
        f"kind of CPU; on a commit whose test passed elsewhere, `python -m fewshot_lab.pretrained --fingerprint "
        f"mann_omniglot` records this CPU's fingerprint")


def test_fingerprints_on_record_are_of_the_shipped_recipes():
    table = json.loads(FINGERPRINTS.read_text(encoding="utf-8"))
    assert set(table) <= set(SHIPPED)
    for name, by_cpu in table.items():
        assert by_cpu and all(len(values) == 4 for values in by_cpu.values())
        assert len(known_fingerprints(name)) == len(by_cpu) + 1  # the export's own, and those recorded elsewhere


def test_export_ships_the_best_weights_and_a_failed_export_leaves_the_old_file(tmp_path, glyphs_dataset,
                                                                               monkeypatch, capsys):
    run = tmp_path / "run"
    assert main(["train", "--method", "mann", "--dataset", "glyphs", "--steps", "2", "--meta-batch", "2",
                 "--instances", "3", "--val-every", "2", "--val-episodes", "2", "--augment", "none",
                 "--add-vectors", "--out", str(run)]) == 0
    capsys.readouterr()
    folder = tmp_path / "shipped"
    monkeypatch.setattr(pretrained, "FOLDER", folder)
    monkeypatch.setattr(pretrained, "short_fingerprint", lambda name: [1.0, 2.0, 3.0, 4.0])  # not the real recipe
    path = export(run, "mann_omniglot")
    assert path == folder / "mann_omniglot.pt"
    shipped = load_pretrained("mann_omniglot")
    best = read_checkpoint(run / "best.pt")["weights"]
    for key, value in shipped.state_dict().items():
        assert torch.equal(value, best[key].half().float()), key
    assert shipped.pretrained["short_fingerprint"] == [1.0, 2.0, 3.0, 4.0]
    before = path.read_bytes()

    def broken_save(payload, destination):
        Path(destination).write_bytes(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export(run, "mann_omniglot")
    assert path.read_bytes() == before and sorted(folder.iterdir()) == [path]  # nothing half-written stays
    with pytest.raises(ValueError, match="no recipe named 'mann_glyphs'"):
        export(run, "mann_glyphs")

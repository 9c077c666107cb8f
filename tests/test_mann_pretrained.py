"""The models shipped for notebook 7.6 (fewshot_lab/pretrained): small, loadable, and still made by their recipe."""

from pathlib import Path

import pytest
import torch

import fewshot_lab.pretrained as pretrained
from fewshot_lab.checkpoints import read_checkpoint
from fewshot_lab.cli import main
from fewshot_lab.methods.mann import MemoryAugmentedNetwork
from fewshot_lab.methods.sequence import LSTMBaseline
from fewshot_lab.pretrained import FOLDER, RECIPES, export, load_pretrained, recipe, short_fingerprint

FINGERPRINT_TOLERANCE = 1e-5  # relative; see test_the_recipe_still_trains_the_same_way
SHIPPED = {"mann_omniglot": MemoryAugmentedNetwork, "lstm_omniglot": LSTMBaseline}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_are_small_and_load_with_their_commands(name):
    assert (FOLDER / f"{name}.pt").stat().st_size < 2 * 2**20
    learner = load_pretrained(name)
    assert isinstance(learner, SHIPPED[name]) and not learner.training
    assert learner.encoder == "conv4" and learner.freeze_encoder
    assert learner.pretrained["commands"] == ["fewshot-lab " + " ".join(line) for line in recipe(name)]
    assert learner.pretrained["dataset"]["name"] == "omniglot-small"


def test_unknown_names_are_refused():
    shipped = "knn_omniglot, lstm_copy, lstm_omniglot, maml_omniglot, mann_omniglot, matching_omniglot, ntm_copy, "
    shipped += "protonet_omniglot"
    with pytest.raises(ValueError, match=f"no pretrained model 'mann_glyphs'; shipped: {shipped}"):
        load_pretrained("mann_glyphs")
    with pytest.raises(ValueError, match="no recipe named"):
        recipe("mann_glyphs")


@pytest.mark.slow
def test_the_recipe_still_trains_the_same_way(omniglot_small_dataset):
    """The shipped MANN's commands, run for a few steps each in float64, give the weights they gave when it was
    exported (the full run is about 50 minutes of one core; this catches any change of code or data that would change
    its trajectory).

    Measured by benchmarks/fingerprint.py (results/fingerprint.md, largest relative distance of the four numbers):
    torch's plain C++ kernels instead of AVX2 move the fingerprint by 2.3e-8, a second thread by 2.9e-8, while a
    tenth more learning rate moves it by 1.2e-2 (the k-NN encoder's) and 1.0e-1 (the MANN's), and 1% more for the
    MANN by 5.8e-3. The tolerance, 1e-5, is 300 times the first and 500 times below the last."""
    assert set(SHIPPED) <= set(RECIPES)  # the others: tests/test_ntm_pretrained.py, tests/test_demo_pretrained.py
    shipped = load_pretrained("mann_omniglot").pretrained["short_fingerprint"]
    assert short_fingerprint("mann_omniglot") == pytest.approx(shipped, rel=FINGERPRINT_TOLERANCE)


def test_export_ships_the_best_weights_and_a_failed_export_leaves_the_old_file(
    tmp_path, glyphs_dataset, monkeypatch, capsys
):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--method",
                "mann",
                "--dataset",
                "glyphs",
                "--steps",
                "2",
                "--meta-batch",
                "2",
                "--instances",
                "3",
                "--val-every",
                "2",
                "--val-episodes",
                "2",
                "--augment",
                "none",
                "--add-vectors",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    capsys.readouterr()
    folder = tmp_path / "shipped"
    monkeypatch.setattr(pretrained, "FOLDER", folder)  # where export writes
    monkeypatch.setattr(pretrained.shipped, "FOLDER", folder)  # where load_pretrained reads
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

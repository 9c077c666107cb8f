"""The command line (train, evaluate) and saved learners that take raw pictures and any labels."""

import json
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from fewshot_lab.cli import main
from fewshot_lab.saved import load
from tests.conftest import OMNIGLOT_SOURCE


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, glyphs_dataset):
    out = tmp_path_factory.mktemp("runs") / "proto"
    code = main(
        [
            "train",
            "--method",
            "protonet",
            "--dataset",
            "glyphs",
            "--backbone",
            "conv4-small",
            "--ways",
            "5",
            "--queries",
            "5",
            "--steps",
            "30",
            "--val-every",
            "15",
            "--val-episodes",
            "10",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_train_writes_checkpoints_and_evaluate_reports_accuracy(trained_run, capsys):
    assert {p.name for p in trained_run.iterdir()} == {"best.pt", "last.pt"}
    capsys.readouterr()
    assert main(["evaluate", str(trained_run), "--ways", "5", "--shots", "1", "--episodes", "30", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["method"] == "protonet" and record["episodes"] == 30 and len(record["values"]) == 30
    assert record["mean"] > 0.4  # chance is 0.2
    assert main(["evaluate", str(trained_run), "--episodes", "20"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("protonet: ") and "% ± " in line and "20 test tasks of glyphs" in line


def test_cli_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "error: no checkpoint at" in capsys.readouterr().err
    assert main(["train", "--method", "protonet", "--dataset", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--method", "maml?", "--out", str(tmp_path)])


def omniglot_pngs(count: int) -> list[bytes]:
    """Raw 105x105 black-on-white PNGs of `count` different characters from the shared Omniglot archive."""
    archive = OMNIGLOT_SOURCE / "images_background_small1.zip"
    if not archive.exists():
        pytest.skip("the shared Omniglot archives are absent")
    with zipfile.ZipFile(archive) as opened:
        names = sorted(n for n in opened.namelist() if n.endswith("_01.png"))
        return [opened.read(name) for name in names[:count]]


def test_saved_learner_labels_raw_omniglot_pngs_with_any_labels(trained_run, tmp_path):
    learner = load(trained_run)
    paths = []
    for index, data in enumerate(omniglot_pngs(3)):
        paths.append(tmp_path / f"{index}.png")
        paths[-1].write_bytes(data)
    assert Image.open(paths[0]).size == (105, 105)
    labels = ["alpha", 7, ("x", 1)]
    # a query identical to a support picture is nearest to it, whatever the weights
    assert learner.predict(paths, labels, [paths[2], paths[0]]) == [("x", 1), "alpha"]
    pictures = [Image.open(path) for path in paths]
    assert learner.predict(pictures, labels, [pictures[1]]) == [7]
    tensors = [torch.from_numpy(learner.preprocessing(picture)).float() / 255 for picture in pictures]
    assert learner.predict(tensors, labels, [tensors[0][0]]) == ["alpha"]


def test_saved_learner_refuses_bad_input(trained_run):
    learner = load(trained_run, checkpoint="last")
    picture = Image.new("L", (105, 105), 255)
    with pytest.raises(ValueError, match="support set is empty"):
        learner.predict([], [], [picture])
    with pytest.raises(ValueError, match="support set has 2 pictures but 1 labels"):
        learner.predict([picture, picture], ["a"], [picture])
    with pytest.raises(ValueError, match="query set is empty"):
        learner.predict([picture], ["a"], [])
    with pytest.raises(ValueError, match="different sizes \\(28x28 and 32x32\\)"):
        learner.predict([torch.zeros(1, 28, 28), torch.zeros(1, 32, 32)], ["a", "b"], [picture])
    with pytest.raises(ValueError, match="cannot be read"):
        learner.predict(["/no/such/file.png"], ["a"], [picture])
    with pytest.raises(TypeError, match="give image paths, PIL images or tensors"):
        learner.predict([np.zeros((28, 28))], ["a"], [picture])
    with pytest.raises(ValueError, match="checkpoint must be 'best' or 'last'"):
        load(trained_run, checkpoint="first")


def test_init_starts_the_embedding_from_a_saved_run(trained_run, tmp_path, capsys):
    from fewshot_lab.methods import build_learner
    from fewshot_lab.saved import copy_embedding

    saved = load(trained_run).learner
    learner = build_learner(
        "maml", backbone="conv4-small", features=saved.embedding(torch.zeros(1, 1, 28, 28)).shape[1]
    )
    copy_embedding(learner, trained_run)
    for name, tensor in saved.embedding.state_dict().items():
        assert torch.equal(learner.embedding.state_dict()[name], tensor), name
    with pytest.raises(ValueError, match="another architecture"):
        copy_embedding(build_learner("protonet", backbone="conv4"), trained_run)
    out = tmp_path / "from_proto"
    assert (
        main(
            [
                "train",
                "--method",
                "protonet",
                "--dataset",
                "glyphs",
                "--init",
                str(trained_run),
                "--out",
                str(out),
                "--steps",
                "5",
            ]
        )
        == 2
    )  # conv4 by default: not the run's conv4-small
    assert "another architecture" in capsys.readouterr().err and not out.exists()
    assert (
        main(
            [
                "train",
                "--method",
                "protonet",
                "--dataset",
                "glyphs",
                "--backbone",
                "conv4-small",
                "--init",
                str(trained_run),
                "--resume",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "give one of them" in capsys.readouterr().err and not out.exists()


def test_a_final_run_trains_on_train_and_val_classes_and_keeps_its_last_weights(glyphs_dataset, tmp_path, capsys):
    out = tmp_path / "final"
    assert (
        main(
            [
                "train",
                "--method",
                "knn",
                "--dataset",
                "glyphs",
                "--backbone",
                "conv4-small",
                "--steps",
                "2",
                "--final",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "final run on the train and val classes, no meta-validation" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"last.pt"}
    splits = glyphs_dataset.splits
    assert load(out).learner.train_classes == 4 * (len(splits["train"]) + len(splits["val"]))  # with rotated copies
    assert (
        main(
            [
                "train",
                "--method",
                "maml",
                "--dataset",
                "sinusoid",
                "--steps",
                "1",
                "--final",
                "--out",
                str(tmp_path / "sine"),
            ]
        )
        == 2
    )
    assert "sinusoid has no val classes to move" in capsys.readouterr().err and not (tmp_path / "sine").exists()


def test_augment_strength_scales_the_affine_moves_and_is_refused_where_there_are_none(tmp_path, capsys):
    from fewshot_lab.checkpoints import read_checkpoint

    out = tmp_path / "strong"
    assert (
        main(
            [
                "train",
                "--method",
                "protonet",
                "--dataset",
                "glyphs",
                "--backbone",
                "conv4-small",
                "--steps",
                "2",
                "--val-every",
                "2",
                "--val-episodes",
                "2",
                "--augment-strength",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert read_checkpoint(out / "last.pt")["training"]["plan"]["augment"] == {
        "rotations": True,
        "degrees": 20.0,
        "scale": 0.2,
        "shear": 0.2,
        "shift": 0.16,
    }
    for augment, strength, words in (
        ("rotations", "2", "--augment rotations makes none"),
        ("all", "-1", "must be at least 0 and below 10"),
        ("all", "10", "must be at least 0 and below 10"),
    ):
        refused = tmp_path / f"refused_{augment}{strength}"
        assert (
            main(
                [
                    "train",
                    "--method",
                    "protonet",
                    "--dataset",
                    "glyphs",
                    "--steps",
                    "1",
                    "--augment",
                    augment,
                    "--augment-strength",
                    strength,
                    "--out",
                    str(refused),
                ]
            )
            == 2
        )
        assert words in capsys.readouterr().err and not refused.exists()


@pytest.mark.slow
def test_evaluate_with_shifted_views_scores_the_same_tasks_and_refuses_other_methods(trained_run, tmp_path, capsys):
    capsys.readouterr()
    scores = {}
    for views in (["--shifted-views", "0"], ["--shifted-views", "1"], []):  # []: the run's own choice, its recipe's 1
        assert main(["evaluate", str(trained_run), "--episodes", "30", "--json", *views]) == 0
        scores[" ".join(views)] = json.loads(capsys.readouterr().out)
    plain, shifted, own = scores["--shifted-views 0"], scores["--shifted-views 1"], scores[""]
    assert shifted["values"] != plain["values"] and shifted["mean"] > 0.4  # chance is 0.2
    assert own["values"] == shifted["values"]
    assert own["evaluation_choices"] == {"shifted views": "1 pixel (the run's own choice; --shifted-views 0 for none)"}
    assert plain["evaluation_choices"] == {"shifted views": "none (given)"}
    assert main(["evaluate", str(trained_run), "--episodes", "3", "--shifted-views", "-1"]) == 2
    assert "--shifted-views must be 0 (none) or more pixels, got -1" in capsys.readouterr().err
    sine = tmp_path / "sine"
    assert (
        main(
            [
                "train",
                "--method",
                "maml",
                "--dataset",
                "sinusoid",
                "--shots",
                "5",
                "--steps",
                "1",
                "--val-every",
                "1",
                "--val-episodes",
                "2",
                "--out",
                str(sine),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["evaluate", str(sine), "--shots", "5", "--episodes", "2", "--shifted-views", "1"]) == 2
    assert (
        "averages the embedding of a metric learner (protonet, matching, knn), not of a maml learner"
        in capsys.readouterr().err
    )


def test_train_precision_bf16_is_recorded_in_the_plan_and_other_precisions_are_refused(tmp_path, capsys):
    from fewshot_lab.checkpoints import read_checkpoint

    out = tmp_path / "bf16"
    assert (
        main(
            [
                "train",
                "--method",
                "protonet",
                "--dataset",
                "glyphs",
                "--backbone",
                "conv4-small",
                "--steps",
                "2",
                "--val-every",
                "2",
                "--val-episodes",
                "2",
                "--precision",
                "bf16",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert read_checkpoint(out / "last.pt")["training"]["plan"]["precision"] == "bf16"
    with pytest.raises(SystemExit):
        main(
            [
                "train",
                "--method",
                "protonet",
                "--dataset",
                "glyphs",
                "--precision",
                "fp16",
                "--out",
                str(tmp_path / "x"),
            ]
        )
    assert "invalid choice: 'fp16'" in capsys.readouterr().err and not (tmp_path / "x").exists()

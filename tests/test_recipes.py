"""Each method's recipe is its default: what `fewshot-lab train` trains with no flag and build_learner builds with
no option; its precision is chosen by the machine; evaluate applies the run's own evaluation choices."""

from pathlib import Path

from fewshot_lab.checkpoints import read_checkpoint
from fewshot_lab.cli import main
from fewshot_lab.methods import METHODS, build_learner
from fewshot_lab.methods import recipes as recipes_module
from fewshot_lab.methods.recipes import RECIPES, choose_precision, training_defaults

ROOT = Path(__file__).resolve().parents[1]


def test_every_method_has_a_recipe_with_its_evidence_in_results():
    assert set(RECIPES) == set(METHODS)
    for method, recipe in RECIPES.items():
        assert (ROOT / recipe.evidence).is_file(), f"{method}: {recipe.evidence}"
        assert recipe.test_views == 0 or METHODS[method].compares_embeddings
        assert recipe.chosen_on == (METHODS[method].task_family or "images")


def test_build_learner_defaults_are_the_recipe_and_a_given_option_wins():
    assert build_learner("fomaml", ways=5).inner_lr == 0.1  # MAML's class default is 0.4; fomaml's recipe is 0.1
    assert build_learner("fomaml", ways=5, inner_lr=0.4).inner_lr == 0.4
    assert build_learner("metalstm").saved_config["backbone"] == "conv4-small"
    assert build_learner("protonet").saved_config["backbone"] == "conv4"
    assert build_learner("fomaml", ways=5, recipe=False).inner_lr == 0.4  # how a saved run is rebuilt: its own options


def test_recipes_apply_to_the_data_they_were_chosen_on(glyphs_dataset):
    from fewshot_lab.data import load_dataset

    assert training_defaults("protonet", glyphs_dataset)["ways"] == 20
    assert training_defaults("maml", load_dataset("sinusoid")) == {}  # chosen on images, not on sine waves
    assert training_defaults("ntm", load_dataset("copy"))["shots"] == 10


def test_bfloat16_only_where_the_cpu_has_its_units_and_the_recipe_measured_it(monkeypatch):
    monkeypatch.setattr(recipes_module, "bf16_units", lambda: ["amx_bf16"])
    assert choose_precision("protonet", "cpu") == ("bf16", "this CPU computes bfloat16 natively (amx_bf16)")
    assert choose_precision("matching", "cpu")[0] == "fp32"  # not measured for it
    assert choose_precision("protonet", "cuda")[0] == "fp32"  # never measured on CUDA
    monkeypatch.setattr(recipes_module, "bf16_units", lambda: [])
    assert choose_precision("protonet", "cpu") == ("fp32", "this CPU has no bfloat16 units: no AMX, no AVX512-BF16")


def test_bfloat16_only_for_what_was_measured_the_recipes_data_and_learner_settings(monkeypatch, glyphs_dataset):
    from fewshot_lab.data import load_dataset

    monkeypatch.setattr(recipes_module, "bf16_units", lambda: ["avx512_bf16"])
    assert choose_precision("maml", "cpu", glyphs_dataset, {"inner_steps": 1, "ways": 5})[0] == "bf16"
    assert choose_precision("maml", "cpu", glyphs_dataset, {"inner_steps": 5}) == (
        "fp32",
        "bfloat16 training was measured for maml's recipe (inner_steps 1), not with inner_steps 5",
    )
    assert choose_precision("maml", "cpu", load_dataset("sinusoid")) == (
        "fp32",
        "bfloat16 training was measured for maml on images, not on sinusoid",
    )
    assert choose_precision("fomaml", "cpu", glyphs_dataset)[0] == "fp32"  # not measured for it
    assert choose_precision("protonet", "cpu", glyphs_dataset, {"backbone": None})[0] == "bf16"  # the recipe's own
    assert choose_precision("protonet", "cpu", glyphs_dataset, {"backbone": "conv4-small"}) == (
        "fp32",
        "bfloat16 training was measured for protonet's recipe (backbone conv4), not with backbone conv4-small",
    )


def test_the_plain_command_trains_the_recipe_and_evaluate_applies_its_choices(
    tmp_path, monkeypatch, capsys, glyphs_dataset
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(recipes_module, "bf16_units", lambda: [])
    assert (
        main(["train", "--method", "protonet", "--backbone", "conv4-small", "--steps", "2", "--val-episodes", "2"]) == 0
    )
    said = capsys.readouterr().out
    assert "protonet's recipe (results/protonet_3min_omniglot_small.md): --ways 20 --shots 1 --queries 5" in said
    assert "evaluated with --shifted-views 1" in said
    assert "precision fp32 (bfloat16 training was measured for protonet's recipe (backbone conv4), not with" in said
    run = tmp_path / "runs" / "protonet-glyphs"  # the default run folder
    plan = read_checkpoint(run / "last.pt")["training"]["plan"]
    assert (plan["ways"], plan["queries"], plan["lr"], plan["val_ways"], plan["test_views"]) == (20, 5, 2e-3, 5, 1)
    assert plan["precision"] == "fp32" and plan["augment"] is not None
    monkeypatch.setattr(recipes_module, "bf16_units", lambda: ["avx512_bf16"])  # resumed on a CPU that has them
    assert main(["train", "--method", "protonet", "--backbone", "conv4-small", "--steps", "3", "--val-episodes", "2",
                 "--resume"]) == 0  # fmt: skip
    assert "precision fp32 (the run's own: --resume continues it as it began)" in capsys.readouterr().out
    assert read_checkpoint(run / "last.pt")["training"]["step"] == 3

    given = tmp_path / "given"  # a flag given wins over the recipe
    assert main(["train", "--method", "protonet", "--backbone", "conv4-small", "--ways", "5", "--lr", "1e-3",
                 "--steps", "2", "--val-episodes", "2", "--out", str(given)]) == 0  # fmt: skip
    plan = read_checkpoint(given / "last.pt")["training"]["plan"]
    assert (plan["ways"], plan["lr"], plan["queries"]) == (5, 1e-3, 5)
    said = capsys.readouterr().out
    assert "--ways 20" not in said and "--lr" not in said and "--queries 5" in said

    assert main(["evaluate", str(run), "--episodes", "3"]) == 0
    assert "evaluated with shifted views 1 pixel (the run's own choice; --shifted-views 0 for none)" in (
        capsys.readouterr().out
    )
    assert main(["train", "--method", "protonet", "--steps", "2"]) == 2  # the default folder now holds a run
    assert "runs/protonet-glyphs" in capsys.readouterr().err


def test_a_recipe_wider_than_a_small_dataset_trains_with_the_classes_there_are(tmp_path, capsys, glyphs_dataset):
    small = glyphs_dataset.with_splits(
        {"train": glyphs_dataset.splits["train"][:8], "val": glyphs_dataset.splits["val"][:3]}, name="small"
    )
    from fewshot_lab import cli

    arguments = cli.build_parser().parse_args(["train", "--method", "protonet"])
    taken = cli._settings_from_recipe(arguments, training_defaults("protonet", small))
    cli._cap_ways(arguments, taken, small, small.splits["train"])
    assert (arguments.ways, arguments.val_ways) == (8, 3) and taken["ways"] == 8

"""fewshot-lab compare: every run on identical seeded tasks, a table rebuilt from its JSON, clear refusals."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from fewshot_lab.cli import main
from fewshot_lab.compare.measurement import TimedLearner
from fewshot_lab.compare.scoring import compare
from fewshot_lab.compare.table import Cell, Comparison, markdown_table, merge_comparisons, read_comparison
from fewshot_lab.evaluation import evaluate
from fewshot_lab.lessons.compare import plot_accuracy_against_training_time
from fewshot_lab.saved import load

TINY = [
    "--dataset",
    "glyphs",
    "--backbone",
    "conv4-small",
    "--ways",
    "5",
    "--queries",
    "5",
    "--augment",
    "none",
    "--val-every",
    "10",
    "--val-episodes",
    "5",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, glyphs_dataset):
    """Two tiny trained runs: ProtoNet and ANIL (a 5-way head: it cannot take 20-way tasks)."""
    folder = tmp_path_factory.mktemp("runs")
    for method, steps in (("protonet", 20), ("anil", 10)):
        assert main(["train", "--method", method, *TINY, "--steps", str(steps), "--out", str(folder / method)]) == 0
    return folder / "protonet", folder / "anil"


def test_two_methods_are_scored_on_identical_tasks(runs, glyphs_dataset):
    fingerprints, accuracies = [], []
    for run in runs:
        timed = TimedLearner(load(run).learner)
        accuracies.append(evaluate(timed, glyphs_dataset, ways=5, shots=1, queries=5, episodes=6).mean)
        fingerprints.append(timed.fingerprint.hexdigest())
        assert len(timed.seconds) == 6 and min(timed.seconds) > 0
    assert fingerprints[0] == fingerprints[1]
    other_seed = TimedLearner(load(runs[0]).learner)
    evaluate(other_seed, glyphs_dataset, ways=5, shots=1, queries=5, episodes=6, seed=1)
    assert other_seed.fingerprint.hexdigest() != fingerprints[0]
    assert accuracies[0] == evaluate(load(runs[0]).learner, glyphs_dataset, ways=5, shots=1, queries=5, episodes=6).mean


def test_compare_writes_the_table_and_rebuilds_it_from_json(runs, tmp_path, capsys):
    out = tmp_path / "table.md"
    assert (
        main(
            [
                "compare",
                *map(str, runs),
                "--settings",
                "5x1",
                "20x1",
                "--episodes",
                "8",
                "--queries",
                "3",
                "--out",
                str(out),
                "--figure",
                str(tmp_path / "figure.png"),
            ]
        )
        == 0
    )
    assert "compared 2 runs" in capsys.readouterr().out
    record = json.loads(out.with_suffix(".json").read_text())
    cells = {(cell["method"], cell["ways"]): cell for cell in record["cells"]}
    assert set(cells) == {("protonet", 5), ("protonet", 20), ("anil", 5), ("anil", 20)}
    assert cells["protonet", 5]["tasks_fingerprint"] == cells["anil", 5]["tasks_fingerprint"]
    assert "5-way head" in cells["anil", 20]["skipped"] and not cells["protonet", 20]["skipped"]
    for key in (("protonet", 5), ("anil", 5), ("protonet", 20)):
        cell = cells[key]
        assert 0 <= cell["accuracy"] <= 1 and cell["ci95"] > 0 and cell["adapt_ms"] > 0
        assert cell["training_steps"] == {"protonet": 20, "anil": 10}[key[0]] and cell["training_seconds"] > 0
        assert cell["peak_memory_mb"] == cell["peak_memory_mb"]  # measured (not nan) on Linux
    table = out.read_text()
    assert "## glyphs" in table and "| protonet | protonet | 20 steps" in table and "n/a (this anil learner" in table
    assert f"{100 * cells['protonet', 5]['accuracy']:.1f} ± {100 * cells['protonet', 5]['ci95']:.1f}" in table
    assert (tmp_path / "figure.png").stat().st_size > 1000
    rebuilt = tmp_path / "rebuilt.md"
    assert main(["compare", "--from-results", str(out.with_suffix(".json")), "--out", str(rebuilt)]) == 0
    assert rebuilt.read_text() == table
    assert markdown_table(read_comparison(out.with_suffix(".json"))) == table
    noted = tmp_path / "noted.md"
    assert (
        main(["compare", "--from-results", str(out.with_suffix(".json")), "--note", "a short run", "--out", str(noted)])
        == 0
    )
    assert (
        "Note: a short run" in noted.read_text() and read_comparison(noted.with_suffix(".json")).note == "a short run"
    )


def test_a_method_trained_at_each_number_of_ways_fills_its_own_gaps(runs, tmp_path):
    """ANIL's 5-way head cannot take 20-way tasks (a 20-way head can take 5-way ones, its unused rows left
    unlabelled): with both runs compared, the 5-way run's n/a at 20 ways is answered by the 20-way run's row
    and dropped."""
    twenty = tmp_path / "anil20"
    options = list(TINY)
    options[options.index("--ways") + 1] = "20"
    assert main(["train", "--method", "anil", *options, "--steps", "2", "--out", str(twenty)]) == 0
    comparison = compare([*runs, twenty], [(5, 1), (20, 1)], episodes=3, queries=2)
    cells = {(cell.run, cell.ways): cell for cell in comparison.cells}
    assert set(cells) == {("protonet", 5), ("protonet", 20), ("anil", 5), ("anil20", 5), ("anil20", 20)}
    assert not any(cell.skipped for cell in comparison.cells)
    assert cells["anil", 5].tasks_fingerprint == cells["protonet", 5].tasks_fingerprint
    assert cells["anil20", 20].tasks_fingerprint == cells["protonet", 20].tasks_fingerprint
    assert cells["anil20", 20].trained_ways == 20 and cells["anil", 5].trained_ways == 5
    for ways, anil in ((5, "anil"), (20, "anil20")):  # the figure draws the anil run trained at the setting's ways
        figure = plot_accuracy_against_training_time(comparison, ways, 1)
        ax = figure.axes[0]
        assert ax.get_legend_handles_labels()[1] == ["protonet", "anil"] and len(ax.containers) == 2
        assert ax.containers[1].lines[0].get_ydata()[0] == pytest.approx(100 * cells[anil, ways].accuracy)
        plt.close(figure)
    alone = compare([runs[1]], [(20, 1)], episodes=3, queries=2)  # no other anil run: the n/a stays, with its reason
    assert len(alone.cells) == 1 and "5-way head" in alone.cells[0].skipped


def test_comparisons_made_apart_merge_into_the_table_made_at_once(runs, tmp_path, capsys):
    """One table per run (as two datasets run side by side would give) merges into the joint table exactly."""
    options = ["--settings", "5x1", "--episodes", "4", "--queries", "3"]
    assert main(["compare", *map(str, runs), *options, "--out", str(tmp_path / "joint.md")]) == 0
    for run in runs:
        assert main(["compare", str(run), *options, "--out", str(tmp_path / f"{run.name}.md")]) == 0
    parts = [str(tmp_path / f"{run.name}.json") for run in runs]
    assert main(["compare", "--from-results", *parts, "--out", str(tmp_path / "merged.md")]) == 0

    def scores(name):  # all but the timings and memory, which differ between any two evaluations
        return [
            (cell.dataset, cell.run, cell.ways, cell.shots, cell.accuracy, cell.ci95, cell.tasks_fingerprint)
            for cell in read_comparison(tmp_path / f"{name}.json").cells
        ]

    assert scores("merged") == scores("joint") and len(scores("joint")) == 2
    merged, joint = ((tmp_path / f"{name}.md").read_text().splitlines() for name in ("merged", "joint"))
    assert [line.split("|")[1:6] for line in merged] == [line.split("|")[1:6] for line in joint]
    assert main(["compare", "--from-results", parts[0], parts[0], "--out", str(tmp_path / "twice.md")]) == 2
    assert "appears in two of these comparisons" in capsys.readouterr().err
    assert (
        main(
            [
                "compare",
                str(runs[0]),
                "--settings",
                "5x1",
                "--episodes",
                "5",
                "--queries",
                "3",
                "--out",
                str(tmp_path / "other.md"),
            ]
        )
        == 0
    )
    assert (
        main(["compare", "--from-results", parts[1], str(tmp_path / "other.json"), "--out", str(tmp_path / "mixed.md")])
        == 2
    )
    assert "episodes is 4 in one and 5 in another" in capsys.readouterr().err
    assert not (tmp_path / "twice.md").exists() and not (tmp_path / "mixed.md").exists()


def test_a_folder_that_is_not_a_run_is_refused_and_nothing_is_written(runs, tmp_path, capsys):
    empty = tmp_path / "not_a_run"
    empty.mkdir()
    out = tmp_path / "results" / "table.md"
    assert main(["compare", str(runs[0]), str(empty), "--episodes", "4", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "is not a run folder: it has no last.pt" in error and str(empty) in error
    assert main(["compare", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "no run folder at" in capsys.readouterr().err
    assert main(["compare", "--from-results", str(runs[0] / "last.pt"), "--out", str(out)]) == 2
    assert "is not JSON" in capsys.readouterr().err
    assert main(["compare", str(runs[0]), "--settings", "5-1", "--out", str(out)]) == 2
    assert "WAYSxSHOTS" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()
    with pytest.raises(ValueError, match="at least one run"):
        compare([])


def test_the_short_table_keeps_the_protocol_and_leaves_out_how_it_was_made():
    comparison = read_comparison(Path(__file__).resolve().parents[1] / "results" / "compare_all.json")
    full, short = markdown_table(comparison), markdown_table(comparison, details=False)
    assert short.startswith("Protocol: test split") and "| glyphs-protonet | protonet |" in short
    assert "Command:" in full and "Note:" in full and "/proc" in full
    assert "Command:" not in short and "Note:" not in short and "/proc" not in short and "Evaluated on" not in short
    assert short.splitlines()[1:] == [line for line in full.splitlines() if line in short.splitlines()][1:]


def test_the_budget_is_stated_in_the_table_the_figure_and_a_merge():
    """A comparison made under one meta-training budget says so in the protocol lines (long and short form), in
    the figure's title, in its JSON record, and in a table merged from parts made under it."""
    cells = [Cell("a", "protonet", "glyphs", 5, 1, accuracy=0.9, ci95=0.01, training_seconds=150, trained_ways=20)]
    budget = "each method's own recipe for 2.5 minutes of wall clock"
    comparison = Comparison(cells=cells, budget=budget)
    for details in (True, False):
        assert f"Meta-training budget: {budget}." in markdown_table(comparison, details=details).splitlines()[1]
    figure = plot_accuracy_against_training_time(comparison)
    assert budget in figure._suptitle.get_text()
    plt.close(figure)
    assert Comparison.from_dict(comparison.to_dict()).budget == budget
    other = Comparison(cells=[Cell("b", "knn", "omniglot-small", 5, 1, accuracy=0.8, ci95=0.01)], budget=budget)
    assert merge_comparisons([comparison, other]).budget == budget
    assert "budget" not in markdown_table(Comparison(cells=cells))

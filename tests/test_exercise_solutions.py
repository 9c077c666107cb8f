"""The instructor solutions pass their checkers, and an unwritten exercise prints its task, not its answer."""

import ast
import inspect
import json
from pathlib import Path

import pytest

from fewshot_lab.exercises import s71, s72, s73, s74, s75, s76, s77, s78, solutions

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# (checker, its instructor solution, pieces of the answer that the task as stated must not give away)
EXERCISES = [
    (s71.check_chance_level, solutions.chance_level, ["1 / ways", "1/ways"]),
    (s71.check_mean_and_ci95, solutions.mean_and_ci95, ["1.96", "sqrt", "standard"]),
    (s71.check_predict, solutions.predict, ["argmax"]),
    (s72.check_head_only, solutions.head_only, ["startswith"]),
    (s72.check_meta_sgd_step, solutions.meta_sgd_step, ["alphas[name] *", "- alpha"]),
    (s72.check_similarity_weights, solutions.weights_from_errors, ["softmax", "-errors"]),
    (s73.check_split_classes, solutions.split_classes, ["permutation", "shuffle"]),
    (s73.check_relabel, solutions.relabel, ["==", "argmax"]),
    (s73.check_sample_task, solutions.sample_task, ["replace=False", "permutation"]),
    (s74.check_nearest_centroid, solutions.nearest_centroid, ["support_y ==", "argmin"]),
    (s74.check_one_nn, solutions.one_nn, ["support_y[", "argmin"]),
    (s74.check_head_step, solutions.head_step, ["- lr", "lr *"]),
    (s75.check_prototypes, solutions.prototypes, ["support_y ==", "keepdim"]),
    (s75.check_prototype_scores, solutions.prototype_scores, ["cdist", "** 2", "negate"]),
    (s75.check_cosine_attention, solutions.cosine_attention, ["normalize", "dim=1"]),
    (s76.check_previous_labels, solutions.previous_labels, ["torch.cat", "[:-1]", "roll"]),
    (s76.check_least_used, solutions.least_used_slots, ["argsort", "topk", "scatter"]),
    (s76.check_read, solutions.read, ["normalize", "softmax"]),
    (s77.check_preprocess, solutions.preprocess_gradient, ["torch.where", "/ p"]),
    (s77.check_metalstm_update, solutions.metalstm_update, ["forget_gate *", "* theta"]),
    (s77.check_sgd_gates, solutions.sgd_gates, ["1 - learning_rate", "1 - lr"]),
    (s78.check_inner_step, solutions.inner_step, ["- inner_lr", "grad(support_loss)"]),
    (s78.check_first_order_meta_gradient, solutions.first_order_meta_gradient, ["detach", "no_grad"]),
    (s78.check_reptile_update, solutions.reptile_update, ["epsilon * (", "adapted - theta"]),
]
IDS = [solution.__name__ for _, solution, _ in EXERCISES]


def task_of(solution) -> str:
    """The task as the starter code's TODO states it: the first line of the solution's docstring."""
    return inspect.getdoc(solution).splitlines()[0]


@pytest.mark.parametrize(("check", "solution", "giveaways"), EXERCISES, ids=IDS)
def test_the_solution_passes_its_checker(check, solution, giveaways):
    feedback = check(solution)
    assert feedback.ok, feedback.message


@pytest.mark.parametrize(("check", "solution", "giveaways"), EXERCISES, ids=IDS)
def test_an_unwritten_exercise_prints_its_task_not_its_answer(check, solution, giveaways):
    def unwritten(*args):
        raise NotImplementedError(f"TODO: {task_of(solution)}")

    unwritten.__name__ = solution.__name__
    feedback = check(unwritten)
    assert not feedback.ok
    assert feedback.message == f"{solution.__name__} is not written yet (TODO: {task_of(solution)}): fill in the TODO"
    shown = inspect.getdoc(solution) + "\n" + feedback.message
    assert [piece for piece in giveaways if piece in shown] == []


def test_every_checker_has_a_solution():
    checkers = {
        check
        for module in (s71, s72, s73, s74, s75, s76, s77, s78)
        for name, check in vars(module).items()
        if name.startswith("check_") and check.__module__ == module.__name__
    }
    assert checkers == {check for check, _, _ in EXERCISES}


def exercise_functions() -> dict[str, list[str]]:
    """{name: argument names} of every function defined in a notebook cell that calls a checker."""
    functions = {}
    for notebook in sorted(NOTEBOOKS.glob("7.*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code" and "check_" in source:
                for node in ast.parse(source).body:
                    if isinstance(node, ast.FunctionDef):
                        functions[node.name] = [argument.arg for argument in node.args.args]
    return functions


def test_every_solution_has_the_signature_of_its_notebook_exercise():
    expected = {solution.__name__: list(inspect.signature(solution).parameters) for _, solution, _ in EXERCISES}
    assert exercise_functions() == expected

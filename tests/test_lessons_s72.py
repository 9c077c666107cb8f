"""Section 7.2's experiments: the family table, the dial of what adapts, sequential against parallel tasks,
shared inputs or targets, similarity-weighted tasks, and their figures."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from fewshot_lab.lessons import s72
from fewshot_lab.methods import METHODS


def test_the_family_table_names_every_method():
    table = s72.family_table()
    assert set(s72.FAMILIES) == set(METHODS)
    for method in METHODS:
        assert any(line.startswith(method + " ") for line in table.splitlines())


def test_the_partition_counts_what_adapts_per_task():
    counts = {method: s72.parameter_partition(s72.sinusoid_learner(method)) for method in ("maml", "anil", "metasgd")}
    assert counts["maml"] == {"adapted per task": 1761, "shared by every task": 0}  # 1-40-40-1 MLP
    assert counts["anil"] == {"adapted per task": 41, "shared by every task": 1720}  # the head: 40 weights + 1 bias
    assert counts["metasgd"] == {"adapted per task": 1761, "shared by every task": 1761}  # alpha: one per weight


def test_a_learner_that_takes_no_step_adapts_no_weight():
    method, options = s72.DIAL["nothing adapts (pretrained)"]
    assert s72.parameter_partition(s72.sinusoid_learner(method, **options)) == {
        "adapted per task": 0,
        "shared by every task": 1761,
    }
    stepping_at_test = s72.sinusoid_learner("maml", inner_steps=0, test_inner_steps=1)
    assert s72.parameter_partition(stepping_at_test)["adapted per task"] == 1761


def test_dial_experiment_is_seeded_and_scores_every_setting_on_the_same_tasks():
    settings = {label: s72.DIAL[label] for label in ("head adapts (ANIL)", "every weight adapts (MAML)")}
    first = s72.dial_experiment(steps=5, episodes=4, meta_batch=2, settings=settings)
    again = s72.dial_experiment(steps=5, episodes=4, meta_batch=2, settings=settings)
    assert list(first) == list(settings)
    for label in settings:
        assert np.array_equal(first[label][1].values, again[label][1].values)
        assert first[label][1].metric == "mse" and first[label][1].episodes == 4
    figure = s72.plot_dial(first)
    assert len(figure.axes) == 2
    plt.close(figure)
    figure = s72.plot_step_sizes(s72.sinusoid_learner("metasgd"))
    assert len(figure.axes[0].collections) == 6  # a strip per parameter tensor of the 1-40-40-1 MLP
    plt.close(figure)


def test_sequential_learning_forgets_what_parallel_learning_keeps():
    tasks = s72.tasks_sharing_inputs(count=3, points=20, seed=0)
    errors = {}
    for order in ("sequential", "parallel"):
        torch.manual_seed(0)
        errors[order] = s72.fit_multitask(s72.MultiTaskNetwork(3), tasks, steps=300, order=order)
    assert errors["sequential"].shape == (31, 3)
    end_of_first_phase = errors["sequential"][10, 0]
    assert errors["sequential"][-1, 0] > 10 * end_of_first_phase  # task 1, learned first, is forgotten
    assert errors["parallel"][-1].max() < errors["sequential"][-1, 0] / 10
    plt.close(s72.plot_sequential_and_parallel(errors))
    with pytest.raises(ValueError, match="parallel' or 'sequential"):
        s72.fit_multitask(s72.MultiTaskNetwork(3), tasks, order="random")


def test_multitask_network_shares_the_parts_it_names():
    network = s72.MultiTaskNetwork(4, shared=("body", "head"))
    assert [len(network.parts[name]) for name in ("encoder", "body", "head")] == [4, 1, 1]
    assert network(torch.zeros(7, 1), 3).shape == (7, 1)
    with pytest.raises(ValueError, match="encoder, body and head"):
        s72.MultiTaskNetwork(2, shared=("trunk",))
    results = s72.sharing_experiment(count=2, points=5, steps=10, seeds=(0,))
    assert len(results) == 6 and all(len(values) == 1 for values in results.values())
    table = s72.sharing_table(results)
    assert "tasks share targets" in table and "an input encoder per task, shared rest" in table


def test_similarity_weighting_beats_weighting_every_task_alike():
    errors = torch.tensor([0.5, 4.0, 0.1])
    assert torch.allclose(s72.similarity_weights(errors, 1e-6), torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(s72.similarity_weights(errors, 1e6), torch.full((3,), 1 / 3), atol=1e-5)
    results = s72.similarity_weighting(sources=10, episodes=20, temperatures=(math.inf, 1.0))
    assert results[1.0][0] < results[math.inf][0] / 2
    figure = s72.plot_similarity_weighting(sources=5)
    assert len(figure.axes[0].lines) == 5 + 3
    plt.close(figure)

"""Metric-based meta-learners: Prototypical Networks (7.4) and Matching Networks (7.5)."""

import numpy as np
import pytest
import torch
from torch import nn

from fewshot_lab.backbones import conv4
from fewshot_lab.data.dataset import ClassInfo, FewShotDataset
from fewshot_lab.data.images import Preprocessing
from fewshot_lab.data.tasks import Task, TaskSampler
from fewshot_lab.evaluation import evaluate, task_scores
from fewshot_lab.methods.matching import MatchingNetwork
from fewshot_lab.methods.protonet import PrototypicalNetwork
from tests.test_evaluation import pattern_dataset

FEATURES = 8 * 7 * 7


def small_embedding() -> nn.Sequential:
    """[batch, 1, 28, 28] -> [batch, FEATURES]: two small conv layers, cheap enough to meta-train in a test."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
    )


LEARNERS = {
    "protonet": lambda embedding: PrototypicalNetwork(embedding),
    "matching": lambda embedding: MatchingNetwork(embedding),
    "matching-fce": lambda embedding: MatchingNetwork(embedding, full_context=True, features=FEATURES, fce_steps=3),
}


def vector_task(support_x, support_y, query_x, query_y) -> Task:
    """A task of plain vectors (for an nn.Identity or nn.Linear embedding)."""
    return Task(
        support_x,
        support_y,
        query_x,
        query_y,
        classes=torch.arange(int(support_y.max()) + 1),
        support_index=torch.arange(len(support_y)),
        query_index=torch.arange(len(query_y)),
    )


@pytest.mark.parametrize("name", LEARNERS)
@pytest.mark.parametrize("ways, shots", [(2, 1), (5, 1), (5, 5), (10, 2)])
def test_scores_are_queries_by_ways(name, ways, shots):
    torch.manual_seed(0)
    learner = LEARNERS[name](small_embedding())
    task = TaskSampler(pattern_dataset(classes=32), "train", ways=ways, shots=shots, queries=3, seed=ways).sample()
    scores = learner.adapt(task.support_x, task.support_y)(task.query_x)
    assert scores.shape == (ways * 3, ways) and torch.isfinite(scores).all()
    if name != "protonet":  # log-probabilities
        assert torch.allclose(scores.exp().sum(1), torch.ones(ways * 3), atol=1e-5)


def test_default_embedding_is_conv4():
    for learner in (PrototypicalNetwork(), MatchingNetwork()):
        assert sum(p.numel() for p in learner.parameters()) == sum(p.numel() for p in conv4().parameters())
        scores = learner.adapt(torch.rand(4, 1, 28, 28), torch.tensor([0, 0, 1, 1]))(torch.rand(3, 1, 28, 28))
        assert scores.shape == (3, 2)


def test_prototypes_are_class_means_whatever_the_support_order():
    support_x = torch.tensor([[0.0, 2.0], [4.0, 4.0], [1.0, 0.0], [3.0, 0.0], [2.0, 2.0], [1.0, 6.0]])
    support_y = torch.tensor([1, 0, 2, 2, 1, 0])  # not label-major
    prototypes = PrototypicalNetwork(nn.Identity()).prototypes(support_x, support_y)
    assert torch.equal(prototypes, torch.tensor([[2.5, 5.0], [1.0, 2.0], [2.0, 0.0]]))


def test_protonet_scores_are_negative_squared_distances_to_prototypes():
    support_x = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    support_y = torch.tensor([0, 0, 1])  # prototypes (1, 0) and (0, 3)
    query_x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]])
    scores = PrototypicalNetwork(nn.Identity()).adapt(support_x, support_y)(query_x)
    assert torch.equal(scores, -torch.tensor([[0.0, 10.0], [2.0, 4.0], [13.0, 9.0]]))


@pytest.mark.parametrize("full_context", [False, True])
def test_matching_attention_is_a_convex_combination_and_predicts_its_label_mixture(full_context):
    torch.manual_seed(0)
    learner = MatchingNetwork(nn.Linear(6, 4), full_context=full_context, features=4)
    support_x, support_y, query_x = torch.randn(9, 6), torch.tensor([2, 0, 1, 0, 2, 1, 1, 0, 2]), torch.randn(7, 6)
    attention = learner.attention(support_x, support_y, query_x)  # [queries, ways * shots]
    assert attention.shape == (7, 9) and (attention >= 0).all()
    assert torch.allclose(attention.sum(1), torch.ones(7))
    scores = learner.adapt(support_x, support_y)(query_x)
    mixture = attention @ nn.functional.one_hot(support_y, 3).float()  # sum_i a(x_hat, x_i) y_i, [queries, ways]
    assert torch.allclose(scores, mixture.log(), atol=1e-5)
    assert torch.allclose(scores.exp().sum(1), torch.ones(7))


def test_matching_log_probabilities_stay_finite_when_a_class_gets_no_attention():
    support_x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], requires_grad=True)
    task = vector_task(support_x, torch.tensor([0, 1]), torch.tensor([[1.0, 0.0]]), torch.tensor([1]))
    loss = MatchingNetwork(nn.Identity(), scale=1000.0).query_loss(task)[0]  # exp(-2000) is 0 in float32
    loss.backward()
    assert loss.item() == pytest.approx(2000.0) and torch.isfinite(support_x.grad).all()


def test_one_shot_attention_peaks_at_the_most_cosine_similar_support_item():
    torch.manual_seed(0)
    support_x, support_y, query_x = torch.randn(5, 3), torch.tensor([3, 1, 4, 0, 2]), torch.randn(20, 3)
    cosine = nn.functional.cosine_similarity(query_x.unsqueeze(1), support_x, dim=2)  # [queries, ways]
    plain = MatchingNetwork(nn.Identity(), scale=1.0)  # the paper's softmax over cosines
    assert torch.allclose(plain.attention(support_x, support_y, query_x), cosine.softmax(1))
    sharp = MatchingNetwork(nn.Identity())
    attention = sharp.attention(support_x, support_y, query_x)
    assert torch.equal(attention.argmax(1), cosine.argmax(1))
    assert (attention.max(1).values > plain.attention(support_x, support_y, query_x).max(1).values).all()
    predictions = task_scores(sharp, support_x, support_y, query_x).argmax(-1)
    assert torch.equal(predictions, support_y[cosine.argmax(1)])


@pytest.mark.parametrize("name", LEARNERS)
def test_query_loss_gradients_reach_every_parameter(name):
    torch.manual_seed(0)
    learner = LEARNERS[name](small_embedding())
    learner.query_loss(TaskSampler(pattern_dataset(), "train", ways=5, shots=2, queries=3).sample())[0].backward()
    for parameter_name, parameter in learner.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, parameter_name
    if name == "matching-fce":
        names = {parameter_name for parameter_name, _ in learner.named_parameters()}
        assert {"support_lstm.weight_hh_l0_reverse", "attention_lstm.weight_ih"} <= names


@pytest.mark.parametrize("name", LEARNERS)
def test_query_loss_gradient_matches_finite_differences(name):
    torch.manual_seed(0)
    learner = {
        "protonet": PrototypicalNetwork(nn.Linear(4, 3)),
        "matching": MatchingNetwork(nn.Linear(4, 3), scale=3.0),
        "matching-fce": MatchingNetwork(nn.Linear(4, 3), full_context=True, features=3, fce_steps=2),
    }[name]
    learner.double()
    task = vector_task(
        torch.randn(6, 4, dtype=torch.float64),
        torch.tensor([0, 1, 2, 0, 1, 2]),
        torch.randn(5, 4, dtype=torch.float64),
        torch.tensor([0, 1, 2, 2, 1]),
    )
    # gradcheck perturbs these very tensors in place, so query_loss sees every perturbation
    assert torch.autograd.gradcheck(lambda *parameters: learner.query_loss(task)[0], tuple(learner.parameters()))


@pytest.mark.parametrize("name", LEARNERS)
def test_relabelling_the_classes_permutes_the_score_columns(name):
    torch.manual_seed(0)
    learner = LEARNERS[name](small_embedding())
    task = TaskSampler(pattern_dataset(), "train", ways=5, shots=2, queries=2).sample()
    relabel = torch.tensor([3, 0, 4, 1, 2])  # class k becomes class relabel[k]
    scores = learner.adapt(task.support_x, task.support_y)(task.query_x)
    relabelled = learner.adapt(task.support_x, relabel[task.support_y])(task.query_x)
    assert torch.allclose(relabelled[:, relabel], scores, atol=1e-5)


@pytest.mark.parametrize("name", ["protonet", "matching"])
def test_the_order_of_the_support_set_does_not_matter_without_full_context(name):
    torch.manual_seed(0)
    learner = LEARNERS[name](small_embedding())
    task = TaskSampler(pattern_dataset(), "train", ways=5, shots=2, queries=2).sample()
    order = torch.randperm(len(task.support_y))
    scores = learner.adapt(task.support_x, task.support_y)(task.query_x)
    shuffled = learner.adapt(task.support_x[order], task.support_y[order])(task.query_x)
    assert torch.allclose(shuffled, scores, atol=1e-5)


def test_constructors_say_what_is_wrong():
    with pytest.raises(TypeError, match=r"embedding must be a torch.nn.Module"):
        PrototypicalNetwork("conv4")
    with pytest.raises(TypeError, match=r"embedding must be a torch.nn.Module"):
        MatchingNetwork(conv4)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        MatchingNetwork(scale=0)
    with pytest.raises(ValueError, match="full_context=True needs features="):
        MatchingNetwork(full_context=True)
    with pytest.raises(ValueError, match="fce_steps"):
        MatchingNetwork(full_context=True, features=64, fce_steps=0)


def lighting_dataset(classes=24, per_class=20, ink=60, seed=0) -> FewShotDataset:
    """Random binary patterns as in pattern_dataset, faint, under a random brightness per image.

    The brightness differs more between two images of one class than the patterns of two classes do,
    so pixel distances mislead; an embedding has to learn to ignore it (zero-sum filters), and that
    skill carries over to classes it never saw.
    """
    rng = np.random.default_rng(seed)
    patterns = (rng.random((classes, 1, 28, 28)) < 0.3).repeat(per_class, axis=0) * ink
    brightness = rng.integers(0, 256 - ink, (classes * per_class, 1, 1, 1))
    infos = [ClassInfo(f"p{i}", f"g{i % 4}") for i in range(classes)]
    splits = {"train": list(range(classes // 2)), "val": [classes // 2], "test": list(range(classes // 2 + 1, classes))}
    return FewShotDataset(
        "lighting",
        torch.from_numpy((patterns + brightness).astype(np.uint8)),
        torch.arange(classes).repeat_interleave(per_class),
        infos,
        splits,
        Preprocessing(28, 1, True),
    )


@pytest.mark.parametrize("name", ["protonet", "matching"])
def test_episodic_meta_training_beats_the_untrained_embedding_and_chance(name):
    dataset = lighting_dataset()
    torch.manual_seed(0)
    learner = LEARNERS[name](small_embedding())
    protocol = dict(ways=5, shots=1, queries=5, episodes=100)
    untrained = evaluate(learner, dataset, **protocol)
    optimizer = torch.optim.Adam(learner.parameters(), lr=1e-3)
    for task in TaskSampler(dataset, "train", ways=5, shots=1, queries=5, seed=1).take(150):
        loss = learner.query_loss(task)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    trained = evaluate(learner, dataset, **protocol)
    assert trained.mean > untrained.mean + 0.25 and trained.mean > 0.8, (str(untrained), str(trained))

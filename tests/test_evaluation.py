"""The evaluation protocol and the first learners: nearest neighbours, learning from scratch, pretraining."""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from fewshot_lab.backbones import ShiftedViews, conv4, conv4_small, make_backbone
from fewshot_lab.data import load_dataset
from fewshot_lab.data.dataset import ClassInfo, FewShotDataset
from fewshot_lab.data.images import Preprocessing
from fewshot_lab.data.tasks import TaskSampler
from fewshot_lab.engine import meta_train
from fewshot_lab.evaluation import confidence_interval, evaluate
from fewshot_lab.learner import Learner
from fewshot_lab.methods import build_learner
from fewshot_lab.methods.nearest import NearestNeighbour
from fewshot_lab.methods.scratch import ScratchLearner


def pattern_dataset(classes=16, per_class=20, noise=60, seed=0) -> FewShotDataset:
    """Each class is a random 28x28 binary pattern; its images are noisy copies of it."""
    rng = np.random.default_rng(seed)
    patterns = rng.random((classes, 1, 28, 28)) < 0.3
    images = patterns.repeat(per_class, axis=0) * 200 + rng.integers(0, noise, (classes * per_class, 1, 28, 28))
    infos = [ClassInfo(f"p{i}", f"g{i % 4}") for i in range(classes)]
    train, val = 7 * classes // 16, 10 * classes // 16  # 16 classes: 7 train, 3 val, 6 test
    splits = {"train": list(range(train)), "val": list(range(train, val)), "test": list(range(val, classes))}
    return FewShotDataset(
        "patterns",
        torch.from_numpy(images.clip(0, 255).astype(np.uint8)),
        torch.arange(classes).repeat_interleave(per_class),
        infos,
        splits,
        Preprocessing(28, 1, True),
    )


class Guess(Learner):
    def adapt(self, support_x, support_y):
        ways = int(support_y.max()) + 1
        return lambda query_x: torch.rand(len(query_x), ways)


def test_confidence_interval_is_196_std_over_sqrt_n():
    values = [0.5, 0.7, 0.9, 0.6]
    assert confidence_interval(values) == pytest.approx(1.96 * np.std(values, ddof=1) / 2)
    assert math.isnan(confidence_interval([1.0]))


def test_pixel_nearest_neighbour_is_perfect_on_clean_patterns_and_chance_is_chance():
    dataset = pattern_dataset(noise=1)
    perfect = evaluate(NearestNeighbour(), dataset, ways=5, shots=1, queries=5, episodes=50)
    assert perfect.mean == 1.0 and perfect.ci95 == 0.0 and len(perfect.values) == 50
    torch.manual_seed(0)
    chance = evaluate(Guess(), dataset, ways=5, shots=1, queries=15, episodes=300)
    assert abs(chance.mean - 0.2) < 0.03 and chance.ci95 > 0
    assert "5-way 1-shot, 15 queries, 300 test tasks of patterns" in str(chance) and "95% CI" in str(chance)


def test_the_same_seed_scores_the_same_tasks():
    dataset = pattern_dataset(noise=250)
    brightness = NearestNeighbour(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))  # a weak, imperfect feature
    first = evaluate(brightness, dataset, ways=3, shots=1, queries=4, episodes=40, seed=5)
    again = evaluate(brightness, dataset, ways=3, shots=1, queries=4, episodes=40, seed=5)
    other = evaluate(brightness, dataset, ways=3, shots=1, queries=4, episodes=40, seed=6)
    assert np.array_equal(first.values, again.values) and not np.array_equal(first.values, other.values)


def test_knn_votes_and_breaks_ties_by_the_nearest_example():
    support = torch.tensor([[0.0], [0.1], [1.0], [5.0]])
    labels = torch.tensor([0, 0, 1, 2])
    identity = nn.Identity()
    query = torch.tensor([[0.8], [4.0]])
    assert NearestNeighbour(identity, k=1).adapt(support, labels)(query).argmax(1).tolist() == [1, 2]
    # k=3: at 0.8 class 0 has two of the three votes; at 4.0 each class has one and the nearest (5.0) wins
    assert NearestNeighbour(identity, k=3).adapt(support, labels)(query).argmax(1).tolist() == [0, 2]
    # k=2 at 0.8: one vote for class 1 (0.2 away) and one for class 0 (0.7 away): the nearer wins
    assert NearestNeighbour(identity, k=2).adapt(support, labels)(query[:1]).argmax(1).tolist() == [1]
    # the same tie far from the support set, where a small correction added to the votes would round away
    far = NearestNeighbour(identity, k=4).adapt(
        torch.tensor([[10.0], [10.1], [9.5], [9.7]]), torch.tensor([0, 0, 1, 1])
    )
    assert far(torch.zeros(1, 1)).argmax(1).tolist() == [1]
    # one shot per class: k=2 always ties one vote against one, so it must answer as 1-NN does
    generator = torch.Generator().manual_seed(0)
    shots, queries = 3 * torch.randn(5, 64, generator=generator), 3 * torch.randn(200, 64, generator=generator)
    one_nn = NearestNeighbour(identity, k=1).adapt(shots, torch.arange(5))(queries).argmax(1)
    assert torch.equal(NearestNeighbour(identity, k=2).adapt(shots, torch.arange(5))(queries).argmax(1), one_nn)
    centroid = NearestNeighbour(identity, rule="centroid").adapt(support, labels)(torch.tensor([[0.4], [0.7]]))
    assert centroid.argmax(1).tolist() == [0, 1]
    with pytest.raises(ValueError, match="rule must be"):
        NearestNeighbour(rule="mean")
    with pytest.raises(ValueError, match="k must be a positive integer"):
        NearestNeighbour(k=0)


def test_evaluate_refuses_what_is_not_a_learner():
    with pytest.raises(TypeError, match="has no adapt"):
        evaluate(object(), pattern_dataset(), episodes=1)
    with pytest.raises(ValueError, match="episodes must be a positive integer"):
        evaluate(NearestNeighbour(), pattern_dataset(), episodes=0)


class WaveOracle(Learner):
    """Recovers the wave exactly from two support points (y = a sin x + b cos x is linear in a, b)."""

    def adapt(self, support_x, support_y):
        basis = torch.cat([torch.sin(support_x), torch.cos(support_x)], 1)
        coefficients = torch.linalg.lstsq(basis.double(), support_y.double()).solution.float()
        return lambda query_x: torch.cat([torch.sin(query_x), torch.cos(query_x)], 1) @ coefficients


class Zero(Learner):
    def adapt(self, support_x, support_y):
        return lambda query_x: torch.zeros_like(query_x)


def test_regression_reports_mean_squared_error():
    family = load_dataset("sinusoid")
    exact = evaluate(WaveOracle(), family, shots=5, queries=10, episodes=100)
    assert exact.metric == "mse" and exact.mean < 1e-8 and exact.ways is None
    zero = evaluate(Zero(), family, shots=5, queries=10, episodes=2000)
    expected = (5.0**3 - 0.1**3) / (3 * 4.9) / 2  # E[A^2] E[sin^2] for A ~ U[0.1, 5]
    assert abs(zero.mean - expected) < 3 * zero.ci95 and str(zero).startswith("MSE ")


def test_learning_from_scratch_beats_chance_on_easy_patterns():
    dataset = pattern_dataset(noise=120)
    result = evaluate(ScratchLearner(steps=30), dataset, ways=5, shots=1, queries=5, episodes=20)
    assert result.mean > 0.6


def test_backbones_have_the_papers_shape():
    assert conv4()(torch.zeros(2, 1, 28, 28)).shape == (2, 64)
    assert conv4_small(3)(torch.zeros(2, 3, 84, 84)).shape == (2, 32 * 5 * 5)
    assert sum(p.numel() for p in conv4().parameters()) == 111_936
    with pytest.raises(ValueError, match="unknown backbone 'resnet'"):
        make_backbone("resnet")


def test_conv_backbones_are_channels_last_and_compute_what_the_default_layout_computes():
    torch.manual_seed(0)
    for network in (conv4(), conv4_small(3)):
        kernels = [p for p in network.parameters() if p.dim() == 4]
        assert kernels and all(k.is_contiguous(memory_format=torch.channels_last) for k in kernels)
        default = copy.deepcopy(network).to(memory_format=torch.contiguous_format)
        assert not default[1][0].weight.is_contiguous(memory_format=torch.channels_last)
        images = torch.rand(6, network[0][0].in_channels, 28, 28)
        ours, theirs = network(images), default(images)
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
        ours.square().sum().backward()
        theirs.square().sum().backward()
        # a conv bias before batch norm has a gradient of 0 up to rounding, so compare to the largest gradient
        scale = max(p.grad.abs().max().item() for p in default.parameters())
        for mine, reference in zip(network.parameters(), default.parameters()):
            torch.testing.assert_close(mine.grad, reference.grad, rtol=0, atol=1e-4 * scale)


def test_a_backbone_in_bfloat16_computes_in_bfloat16_returns_float32_and_keeps_its_parameters():
    torch.manual_seed(0)
    network = conv4()
    plain = torch.nn.Sequential(*network)  # the same layers as a plain Sequential
    assert list(network.state_dict()) == list(plain.state_dict())  # checkpoints do not see the difference
    images = torch.rand(8, 1, 28, 28)
    full = network(images)
    inside = []
    network[0][0].register_forward_hook(lambda module, inputs, output: inside.append(output.dtype))
    network.compute_dtype = torch.bfloat16
    low = network(images)
    assert inside == [torch.bfloat16] and low.dtype == torch.float32
    assert {p.dtype for p in network.parameters()} == {torch.float32}
    # bfloat16 keeps 8 bits of mantissa: about 2 significant digits survive four conv blocks, and no more
    assert 1e-4 < (low - full).abs().max() < 0.05 * full.abs().max()
    low.square().sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in network.parameters())
    network.compute_dtype = None
    torch.testing.assert_close(network(images), full, rtol=0, atol=0)


@pytest.mark.slow
def test_pretrained_embedding_beats_pixels_on_unseen_glyph_alphabets(glyphs_dataset):
    torch.manual_seed(0)
    pixels = evaluate(NearestNeighbour(), glyphs_dataset, ways=5, shots=1, queries=5, episodes=200)
    learner = build_learner("knn", backbone="conv4-small", train_classes=len(glyphs_dataset.splits["train"]))
    history = meta_train(learner, glyphs_dataset, steps=300, lr=3e-3, progress=False)
    assert np.mean(history.loss[-20:]) < np.mean(history.loss[:20])
    learned = evaluate(learner, glyphs_dataset, ways=5, shots=1, queries=5, episodes=200)
    assert learned.mean > pixels.mean + 0.1, (str(pixels), str(learned))


def test_shifted_views_average_the_embeddings_of_nine_shifted_copies():
    torch.manual_seed(0)
    embedding = conv4_small().eval()
    images = torch.rand(4, 1, 28, 28)  # [batch, 1, 28, 28]
    views = ShiftedViews(embedding, pixels=2).eval()
    by_hand = torch.stack(
        [embedding(torch.roll(images, (down, right), (-2, -1))) for down in (-2, 0, 2) for right in (-2, 0, 2)]
    ).mean(0)
    with torch.no_grad():
        assert torch.allclose(views(images), by_hand, atol=1e-5)
        assert not torch.allclose(views(images), embedding(images), atol=1e-3)  # the views do change the embedding
        batches = []  # the batch size of each call to the embedding
        hook = embedding.register_forward_pre_hook(lambda module, inputs: batches.append(len(inputs[0])))
        views(images)
        hook.remove()
    assert batches == [4] * 9  # one view at a time: never the nine views' activations at once
    sums = ShiftedViews(nn.Flatten(), pixels=1)  # a flat embedding: each pixel averaged over its 3 x 3 neighbourhood
    one_dot = torch.zeros(1, 1, 5, 5)
    one_dot[0, 0, 2, 2] = 9.0
    assert torch.equal(sums(one_dot).view(5, 5)[1:4, 1:4], torch.ones(3, 3))
    assert sums(one_dot).sum() == 9.0
    with pytest.raises(ValueError, match="positive integer, got 0"):
        ShiftedViews(embedding, pixels=0)
    with pytest.raises(ValueError, match="too small to shift by 3"):
        ShiftedViews(embedding, pixels=3)(torch.rand(1, 1, 6, 6))


@pytest.mark.parametrize("method", ["protonet", "matching", "knn"])
def test_a_learner_that_compares_embeddings_is_scored_as_task_by_task_with_each_image_embedded_once(method):
    dataset = pattern_dataset(noise=120)
    torch.manual_seed(0)
    options = {"train_classes": 7} if method == "knn" else {}
    learner = build_learner(method, backbone="conv4-small", **options)
    meta_train(learner, dataset, steps=3, val_every=3, val_episodes=2, ways=3, queries=2, seed=0)  # running stats
    embedding = learner.embedding
    shown = []  # how many images each call of the embedding took
    embedding.register_forward_hook(lambda module, inputs, output: shown.append(len(inputs[0])))
    once = evaluate(learner, dataset, ways=5, shots=2, queries=3, episodes=40, split="test")
    assert learner.embedding is embedding and not learner.training  # given back, in the mode evaluate found it in
    tasks = list(TaskSampler(dataset, "test", ways=5, shots=2, queries=3, seed=0).take(40))  # the same 40 tasks
    used = {int(index) for task in tasks for index in torch.cat([task.support_index, task.query_index])}
    assert sum(shown) == len(used) < 40 * 25  # each image once, not once per task that shows it
    shown.clear()
    with torch.no_grad():
        by_task = [  # the learner protocol, task by task: support and query embedded in every task
            (learner.adapt(task.support_x, task.support_y)(task.query_x).argmax(1) == task.query_y).float().mean()
            for task in tasks
        ]
    assert sum(shown) == 40 * 25
    np.testing.assert_allclose(once.values, torch.stack(by_task).numpy())  # the same predictions, query by query
    assert 0.3 < once.mean < 1  # a three-step learner on noisy patterns: above chance (0.2), not everything


def test_the_embedding_comes_back_when_scoring_a_task_fails():
    dataset = pattern_dataset()
    learner = build_learner("protonet", backbone="conv4-small")
    embedding = learner.embedding
    learner.adapt = lambda support_x, support_y: 1 / 0
    with pytest.raises(ZeroDivisionError):
        evaluate(learner, dataset, episodes=3)
    assert learner.embedding is embedding

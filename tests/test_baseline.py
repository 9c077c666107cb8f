"""The pretrained-embedding baselines of section 7.4: k-NN on the embedding (forgets nothing) and fine-tuning."""

import copy

import numpy as np
import pytest
import torch

from fewshot_lab.checkpoints import load_checkpoint, read_checkpoint
from fewshot_lab.data.classification import ClassBatches
from fewshot_lab.data.dataset import ClassInfo, FewShotDataset
from fewshot_lab.data.images import Preprocessing
from fewshot_lab.data.tasks import TaskSampler
from fewshot_lab.engine import meta_train
from fewshot_lab.evaluation import evaluate
from fewshot_lab.methods import build_learner
from fewshot_lab.methods.baseline import FineTuner, forgetting
from fewshot_lab.methods.nearest import NearestNeighbour
from tests.test_engine import InterruptAt
from tests.test_evaluation import pattern_dataset

TRAINING = dict(ways=5, shots=1, queries=3, steps=100, val_every=50, val_episodes=30, lr=3e-3, progress=False)


def parts_dataset(classes=48, per_class=20, parts=6, jitter=3, noise=100, seed=0) -> FewShotDataset:
    """Each class is 3 of `parts` shared 7x7 strokes at 3 of 9 places; every drawing moves each stroke by up to
    `jitter` pixels and adds noise. Pixel nearest neighbour suffers from the jitter, while an embedding
    pretrained on the train classes learns the strokes, which the unseen classes are made of too.
    48 classes: 30 train, 6 val, 12 test."""
    rng = np.random.default_rng(seed)
    strokes = rng.random((parts, 7, 7)) < 0.5
    places = [(row, column) for row in (3, 11, 18) for column in (3, 11, 18)]  # top-left corners
    images = np.zeros((classes, per_class, 28, 28))
    for k in range(classes):
        chosen = zip(rng.choice(parts, 3), rng.choice(len(places), 3, replace=False))
        for stroke, place in chosen:
            for drawing in range(per_class):
                row, column = np.array(places[place]) + rng.integers(-jitter, jitter + 1, 2)
                window = images[k, drawing, row : row + 7, column : column + 7]
                np.maximum(window, 200 * strokes[stroke], out=window)
    images = images.reshape(-1, 1, 28, 28) + rng.integers(0, noise, (classes * per_class, 1, 28, 28))
    train, val = classes * 5 // 8, classes * 6 // 8
    splits = {"train": list(range(train)), "val": list(range(train, val)), "test": list(range(val, classes))}
    return FewShotDataset(
        "parts",
        torch.from_numpy(images.clip(0, 255).astype(np.uint8)),
        torch.arange(classes).repeat_interleave(per_class),
        [ClassInfo(f"c{i}", f"g{i % 4}") for i in range(classes)],
        splits,
        Preprocessing(28, 1, True),
    )


def numbered_dataset() -> FewShotDataset:
    """12 classes of 5 blank images each, every pixel of class c at 20 * c: an image tells its class."""
    images = (20 * torch.arange(12)).repeat_interleave(5).to(torch.uint8).view(60, 1, 1, 1).expand(60, 1, 4, 4)
    splits = {"train": [9, 0, 3, 11, 7, 2], "val": [1, 5, 10], "test": [4, 6, 8]}
    return FewShotDataset(
        "numbered",
        images.contiguous(),
        torch.arange(12).repeat_interleave(5),
        [ClassInfo(f"n{i}", "g") for i in range(12)],
        splits,
        Preprocessing(4, 1, True),
    )


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """One pretraining of conv4-small on parts (knn, so validation is nearest centroid), saved to a folder."""
    dataset, out = parts_dataset(), tmp_path_factory.mktemp("knn")
    torch.manual_seed(0)
    learner = build_learner("knn", backbone="conv4-small", train_classes=30)
    history = meta_train(learner, dataset, out=out, **TRAINING)
    return dataset, learner, history, out


def pretrained_as(pretrained, method: str, **options):
    """A fresh learner of `method` holding the pretrained weights, in eval mode (as evaluate() runs it)."""
    rebuilt = build_learner(method, backbone="conv4-small", train_classes=30, **options)
    rebuilt.load_state_dict(pretrained[1].state_dict())
    return rebuilt.eval()


def test_class_batches_mix_the_train_classes_labelled_in_sorted_order():
    dataset = numbered_dataset()
    batch = ClassBatches(dataset, "train", batch_size=200, seed=0).sample()
    assert batch.images.shape == (200, 1, 4, 4) and batch.labels.shape == (200,)
    classes = (batch.images[:, 0, 0, 0] * 255 / 20).round().long()  # the class each image was drawn from
    assert set(classes.tolist()) == {0, 2, 3, 7, 9, 11}  # every train class, nothing else
    assert torch.equal(batch.labels, torch.searchsorted(torch.tensor([0, 2, 3, 7, 9, 11]), classes))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        ClassBatches(dataset, batch_size=0)
    with pytest.raises(ValueError, match="unknown split 'training'"):
        ClassBatches(dataset, "training")


def test_class_batches_are_seeded_and_resume_where_they_stopped():
    dataset = numbered_dataset()
    first, again, other = (ClassBatches(dataset, batch_size=16, seed=seed) for seed in (3, 3, 4))
    assert torch.equal(first.sample().labels, again.sample().labels)
    assert not torch.equal(first.sample().labels, other.sample().labels)
    state = first.state_dict()
    expected = first.sample()
    other.load_state_dict(state)
    resumed = other.sample()
    assert torch.equal(resumed.images, expected.images) and torch.equal(resumed.labels, expected.labels)


def test_pretraining_learns_the_train_classes_and_beats_pixels_on_new_ones(pretrained):
    dataset, learner, history, _ = pretrained
    assert np.mean(history.accuracy[:10]) < 0.5 < 0.9 < np.mean(history.accuracy[-10:])
    pixels = evaluate(NearestNeighbour(), dataset, ways=5, shots=1, queries=5, episodes=100)
    learned = evaluate(learner, dataset, ways=5, shots=1, queries=5, episodes=100)
    assert learned.mean > pixels.mean + 0.15, (str(pixels), str(learned))


def test_a_saved_knn_learner_reloads_into_one_built_by_name(pretrained):
    dataset, learner, _, out = pretrained
    rebuilt = build_learner("knn", backbone="conv4-small", train_classes=30)
    payload = load_checkpoint(out / "best.pt", rebuilt, dataset)
    assert payload["method"] == "knn" and payload["config"]["features"] == 32
    for name, tensor in learner.state_dict().items():
        torch.testing.assert_close(rebuilt.state_dict()[name], tensor, rtol=0, atol=0)
    same_tasks = dict(episodes=20, seed=1)
    assert np.array_equal(
        evaluate(rebuilt, dataset, **same_tasks).values, evaluate(learner, dataset, **same_tasks).values
    )


def test_knn_changes_no_weight_and_is_nearest_neighbour_on_the_embedding(pretrained):
    dataset = pretrained[0]
    for k, rule in ((1, "centroid"), (3, "neighbour")):
        learner = pretrained_as(pretrained, "knn", k=k, rule=rule)
        before = copy.deepcopy(learner.state_dict())
        plain = NearestNeighbour(learner.embedding, k=k, rule=rule)
        for task in TaskSampler(dataset, "test", ways=5, shots=2, queries=4, seed=k).take(20):
            scores = learner.adapt(task.support_x, task.support_y)(task.query_x)
            torch.testing.assert_close(scores, plain.adapt(task.support_x, task.support_y)(task.query_x))
        for name, tensor in before.items():
            assert torch.equal(learner.state_dict()[name], tensor), name


@pytest.mark.parametrize("fine_tune_body", [False, True])
def test_fine_tuning_leaves_the_learners_own_weights_alone(pretrained, fine_tune_body):
    learner = pretrained_as(pretrained, "finetune", steps=20, fine_tune_body=fine_tune_body)
    before = copy.deepcopy(learner.state_dict())
    for task in TaskSampler(pretrained[0], "test", ways=5, shots=1, queries=4, seed=0).take(3):
        learner.adapt(task.support_x, task.support_y)(task.query_x)
    for name, tensor in before.items():
        assert torch.equal(learner.state_dict()[name], tensor), name
    assert all(parameter.grad is None for parameter in learner.parameters())


def test_a_frozen_body_trains_only_a_new_head(pretrained):
    task = TaskSampler(pretrained[0], "test", ways=5, shots=1, queries=4, seed=0).sample()
    frozen = pretrained_as(pretrained, "finetune")
    with torch.no_grad():
        features = frozen.embedding(task.query_x)  # [queries, features]
    body, head = frozen.fine_tune(task.support_x, task.support_y)
    assert body is frozen.embedding and head.weight.shape == (5, 32)
    with torch.no_grad():
        torch.testing.assert_close(body(task.query_x), features, rtol=0, atol=0)
        torch.testing.assert_close(frozen.adapt(task.support_x, task.support_y)(task.query_x), head(features))
    tuned = pretrained_as(pretrained, "finetune", fine_tune_body=True)
    body, _ = tuned.fine_tune(task.support_x, task.support_y)
    with torch.no_grad():
        assert body is not tuned.embedding and not torch.allclose(body(task.query_x), features)


def test_more_fine_tuning_steps_fit_the_support_set(pretrained):
    task = TaskSampler(pretrained[0], "test", ways=5, shots=5, queries=1, seed=0).sample()
    losses, accuracies = [], []
    for steps in (0, 3, 200):
        model = pretrained_as(pretrained, "finetune", steps=steps).adapt(task.support_x, task.support_y)
        scores = model(task.support_x)  # [ways * shots, ways]
        losses.append(torch.nn.functional.cross_entropy(scores, task.support_y).item())
        accuracies.append((scores.argmax(1) == task.support_y).float().mean().item())
    assert losses[0] == pytest.approx(np.log(5)) and losses[0] > losses[1] > losses[2]  # a zero head: uniform
    assert accuracies[2] == 1.0


def test_fine_tuning_the_body_forgets_the_pretraining_classes_and_a_frozen_body_does_not(pretrained):
    dataset = pretrained[0]
    task = TaskSampler(dataset, "test", ways=5, shots=1, queries=1, seed=0).sample()
    frozen = forgetting(pretrained_as(pretrained, "finetune"), dataset, task)
    assert frozen["after"] == frozen["before"] > 0.9
    tuned = forgetting(pretrained_as(pretrained, "finetune", fine_tune_body=True, lr=0.1), dataset, task)
    assert tuned["before"] == frozen["before"] and tuned["after"] < tuned["before"] - 0.3
    with pytest.raises(TypeError, match="a knn learner changes no weight"):
        forgetting(pretrained_as(pretrained, "knn"), dataset, task)


def test_a_saved_fine_tuner_reloads_into_one_built_by_name(tmp_path):
    dataset = parts_dataset()
    torch.manual_seed(0)
    learner = build_learner("finetune", backbone="conv4-small", train_classes=30, steps=10)
    meta_train(learner, dataset, out=tmp_path, **{**TRAINING, "steps": 3, "val_episodes": 5})
    rebuilt = build_learner("finetune", backbone="conv4-small", train_classes=30, steps=10)
    load_checkpoint(tmp_path / "last.pt", rebuilt, dataset)
    assert np.array_equal(evaluate(rebuilt, dataset, episodes=5).values, evaluate(learner, dataset, episodes=5).values)


def test_an_interrupted_pretraining_resumes_to_the_uninterrupted_result(tmp_path):
    dataset, short = parts_dataset(), {**TRAINING, "steps": 12, "val_every": 5, "val_episodes": 5}
    straight, stopped, resumed = (build_learner("knn", backbone="conv4-small", train_classes=30) for _ in range(3))
    stopped.load_state_dict(straight.state_dict())
    resumed.load_state_dict(straight.state_dict())
    meta_train(straight, dataset, out=tmp_path / "straight", **short)
    InterruptAt(stopped, call=8)
    assert meta_train(stopped, dataset, out=tmp_path / "stopped", **short).step[-1] == 7
    history = meta_train(resumed, dataset, out=tmp_path / "stopped", resume=True, **short)
    assert history.step == list(range(1, 13))
    expected, actual = (read_checkpoint(tmp_path / run / "last.pt") for run in ("straight", "stopped"))
    for name, tensor in expected["weights"].items():
        torch.testing.assert_close(actual["weights"][name], tensor, rtol=0, atol=0)
    assert actual["training"]["history"]["loss"] == expected["training"]["history"]["loss"]


def test_build_learner_measures_features_and_needs_train_classes():
    learner = build_learner("finetune", backbone="conv4", train_classes=7)
    assert isinstance(learner, FineTuner) and learner.head.weight.shape == (7, 64)
    assert learner.config()["features"] == 64 and learner.embedding.training  # the dry run leaves train mode
    with pytest.raises(
        TypeError,
        match=r"method 'knn' needs train_classes=, the number of meta-train classes "
        r"\(len\(dataset.splits\['train'\]\)\)",
    ):
        build_learner("knn", backbone="conv4-small")
    with pytest.raises(ValueError, match="rule must be"):
        build_learner("knn", train_classes=7, rule="mean")
    with pytest.raises(ValueError, match=r"train_classes .* must be an integer of at least 2"):
        build_learner("finetune", train_classes=1)


def test_training_refuses_a_train_split_of_another_size():
    learner = build_learner("knn", backbone="conv4-small", train_classes=30)
    with pytest.raises(
        ValueError, match="this knn learner was built for 30 meta-train classes but the train split of patterns has 7"
    ):
        meta_train(learner, pattern_dataset(), **{**TRAINING, "ways": 3})

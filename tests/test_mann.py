"""Memory-augmented neural networks (7.6): LRUA addressing, the sequence protocol, the MANN and LSTM learners."""

import math

import numpy as np
import pytest
import torch

from fewshot_lab.cli import main
from fewshot_lab.data.sequences import EpisodeSequences, presentations
from fewshot_lab.data.tasks import TaskSampler
from fewshot_lab.evaluation import accuracy_by_presentation, recall_bound_by_presentation, validation_score
from fewshot_lab.methods import build_learner
from fewshot_lab.methods.mann import SHIPPED_VARIANT, MemoryAugmentedNetwork
from fewshot_lab.methods.memory import LRUAMemory, MemoryState, content_weights, least_used
from fewshot_lab.methods.sequence import LSTMBaseline
from tests.test_evaluation import pattern_dataset

LEARNERS = {"mann": MemoryAugmentedNetwork, "lstm": LSTMBaseline}


def small(method: str, **options):
    """A learner with the paper's structure at a tenth of its size, quick enough for tests."""
    torch.manual_seed(0)
    sizes = dict(hidden=20, slots=12, width=6, heads=2) if method == "mann" else dict(hidden=20)
    return LEARNERS[method](**sizes, **options)


def hand_made_state(usage, memory=None, read_weights=None, heads=2) -> MemoryState:
    usage = torch.tensor([usage], dtype=torch.float32)  # [1, slots]
    slots = usage.shape[1]
    memory = torch.arange(slots * 3, dtype=torch.float32).view(1, slots, 3) + 1 if memory is None else memory
    read_weights = torch.zeros(1, heads, slots) if read_weights is None else read_weights
    return MemoryState(
        memory, usage, read_weights, torch.zeros(1, heads, slots), torch.zeros(1, heads, 3), torch.zeros(1, slots)
    )  # no step before: no fresh slots of the last step


def test_least_used_marks_the_n_slots_of_lowest_usage():
    usage = torch.tensor([[0.9, 0.1, 0.5, 0.05, 2.0], [1.0, 1.0, 0.0, 1.0, 1.0]])
    assert torch.equal(least_used(usage, 2), torch.tensor([[0.0, 1, 0, 1, 0], [1.0, 0, 1, 0, 0]]))  # ties: lower index


def test_write_goes_to_the_least_used_slots_after_clearing_the_emptiest():
    memory_module = LRUAMemory(slots=5, width=3, heads=2, gamma=0.95)
    state = hand_made_state([0.9, 0.1, 0.5, 0.05, 2.0])
    keys = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])  # [1, heads, width]
    after = memory_module(state, keys, strengths=torch.ones(1, 2), write_gates=torch.zeros(1, 2))
    written = keys.sum(1)[0]  # each head writes its key to both least-used slots (1 and 3)
    assert torch.equal(after.write_weights[0], torch.tensor([[0.0, 1, 0, 1, 0]] * 2))
    assert torch.equal(after.memory[0, 3], written)  # slot 3, the least used, was set to zero first
    assert torch.equal(after.memory[0, 1], state.memory[0, 1] + written)  # slot 1 keeps what it held
    for untouched in (0, 2, 4):
        assert torch.equal(after.memory[0, untouched], state.memory[0, untouched])


def test_write_gate_one_writes_where_the_heads_read_last_step():
    memory_module = LRUAMemory(slots=4, width=3, heads=1)
    previous_read = torch.tensor([[[0.0, 0.7, 0.3, 0.0]]])  # w^r_{t-1}, [1, heads, slots]
    state = hand_made_state([0.0, 1.0, 1.0, 2.0], read_weights=previous_read, heads=1)
    after = memory_module(state, torch.ones(1, 1, 3), torch.ones(1, 1), write_gates=torch.ones(1, 1))
    assert torch.equal(after.write_weights, previous_read)
    assert torch.equal(after.memory[0, 0], torch.zeros(3))  # the emptiest slot is still cleared
    assert torch.allclose(after.memory[0, 1:3], state.memory[0, 1:3] + torch.tensor([[0.7], [0.3]]))


def test_add_vectors_are_written_in_place_of_the_keys_which_still_address():
    memory_module = LRUAMemory(slots=5, width=3, heads=2, gamma=0.95)
    state = hand_made_state([0.9, 0.1, 0.5, 0.05, 2.0])
    keys = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    adds = torch.tensor([[[0.0, 0.0, 3.0], [5.0, 0.0, 1.0]]])
    by_key = memory_module(state, keys, strengths=torch.ones(1, 2), write_gates=torch.zeros(1, 2))
    by_add = memory_module(state, keys, strengths=torch.ones(1, 2), write_gates=torch.zeros(1, 2), contents=adds)
    assert torch.equal(by_add.memory[0, 3], adds.sum(1)[0])  # the least-used slot holds the add vectors
    assert torch.equal(by_add.memory[0, 1], state.memory[0, 1] + adds.sum(1)[0])
    assert torch.equal(by_add.read_weights, by_key.read_weights)  # where to look is still decided by the keys
    assert torch.equal(by_add.write_weights, by_key.write_weights)


def test_a_mann_with_add_vectors_learns_them_and_saves_the_choice():
    learner = small("mann", add_vectors=True)
    heads, width = learner.memory.heads, learner.memory.width
    assert learner.interface.out_features == heads * (2 * width + 2)
    batch = learner.training_stream(pattern_dataset(), ways=5, shots=1, queries=1, meta_batch=3, seed=0).sample()
    learner.training_loss(batch)[0].backward()
    add_rows = learner.interface.weight.grad[heads * (width + 2) :]  # the rows that make a_t
    assert add_rows.shape == (heads * width, 20) and (add_rows.abs().sum(1) > 0).all()
    built = build_learner("mann", encoder="pixels", add_vectors=True)
    assert built.config()["add_vectors"] is True and built.interface.out_features == 4 * (2 * 40 + 2)


@pytest.mark.parametrize("add_vectors", [False, True])
def test_a_mann_with_write_to_last_learns_its_last_gates_and_saves_the_choice(add_vectors):
    learner = small("mann", add_vectors=add_vectors, write_to_last=True)
    heads, width = learner.memory.heads, learner.memory.width
    assert learner.interface.out_features == heads * ((2 if add_vectors else 1) * width + 3)
    batch = learner.training_stream(pattern_dataset(), ways=5, shots=1, queries=1, meta_batch=3, seed=0).sample()
    learner.training_loss(batch)[0].backward()
    last_rows = learner.interface.weight.grad[-heads:]  # the rows that make the last gates delta_t
    assert last_rows.shape == (heads, 20) and (last_rows.abs().sum(1) > 0).all()
    assert build_learner("mann", encoder="pixels", write_to_last=True).config()["write_to_last"] is True
    assert not build_learner("mann", encoder="pixels").write_to_last


def test_heads_look_where_the_key_matched_before_this_steps_write():
    memory_module = LRUAMemory(slots=4, width=3, heads=1)
    memory = torch.tensor([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    state = hand_made_state([0.0, 1.0, 1.0, 1.0], memory=memory, heads=1)
    key = torch.tensor([[[0.9, 0.1, 0.0]]])  # closest to row 1; slot 0, the least used, receives the key itself
    after = memory_module(state, key, torch.tensor([[50.0]]), write_gates=torch.zeros(1, 1))
    assert torch.equal(after.memory[0, 0], key[0, 0]) and after.read_weights.argmax() == 1
    assert torch.allclose(after.reads, after.read_weights @ after.memory)  # the rows are read after the write


def test_with_last_gates_a_head_adds_to_last_steps_fresh_slot_and_the_next_read_finds_it():
    memory_module = LRUAMemory(slots=4, width=4, heads=1)
    memory = torch.tensor([[[0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]])
    start = hand_made_state([0.0, 1.0, 1.0, 1.0], memory=memory, heads=1)
    image, label = torch.tensor([[[1.0, 0.0, 0.0, 0.0]]]), torch.tensor([[[0.0, 0.0, 1.0, 0.0]]])
    strong, zero, one = torch.tensor([[50.0]]), torch.zeros(1, 1), torch.ones(1, 1)
    first = memory_module(start, image, strong, zero, image, last_gates=zero)  # step 1 stores the image in slot 0
    assert torch.equal(first.memory[0, 0], image[0, 0]) and torch.equal(first.fresh[0], torch.tensor([1.0, 0, 0, 0]))
    similar = torch.tensor([[[1.0, 0.1, 0.0, 0.0]]])  # step 2: another drawing of the class; its label has just arrived
    bound = memory_module(first, similar, strong, zero, label, last_gates=one)
    assert torch.equal(bound.write_weights[:, 0], first.fresh)  # written where step 1 wrote
    assert torch.equal(bound.memory[0, 0], image[0, 0] + label[0, 0])  # the image now carries its label
    assert bound.read_weights[0, 0, 0] > 0.99 and bound.reads[0, 0, 2] > 0.99  # and this step's read returns it
    assert bound.fresh[0, 0] == 0 and bound.fresh.sum() == 1  # the pointer moves on: step 2's least-used slot
    third = memory_module(bound, similar, strong, zero, label, last_gates=one)
    assert (
        torch.equal(third.write_weights[:, 0], bound.fresh) and third.write_weights[0, 0, 0] == 0
    )  # one step back only
    apart = memory_module(first, similar, strong, zero, label, last_gates=zero)  # the paper's LRUA
    assert apart.write_weights[0, 0, 0] == 0 and apart.reads[0, 0, 2] < 0.01  # the label went to another slot
    paper = memory_module(first, similar, strong, zero, label)
    for ours, theirs in zip(apart, paper):
        assert torch.equal(ours, theirs)  # last gates of 0 are the paper's write rule
    half = memory_module(first, similar, strong, torch.full((1, 1), 0.25), label, last_gates=torch.full((1, 1), 0.5))
    least = least_used(first.usage, 1)
    torch.testing.assert_close(
        half.write_weights,
        0.25 * first.read_weights + 0.75 * (0.5 * first.fresh.unsqueeze(1) + 0.5 * least.unsqueeze(1)),
    )


def test_a_memory_step_matches_finite_differences_in_every_continuous_input():
    torch.manual_seed(0)
    memory_module = LRUAMemory(slots=5, width=3, heads=2, gamma=0.9)
    state = MemoryState(
        memory=torch.randn(1, 5, 3, dtype=torch.float64),
        usage=torch.tensor([[0.3, 1.2, 0.1, 2.0, 0.7]], dtype=torch.float64),  # no ties
        read_weights=torch.rand(1, 2, 5, dtype=torch.float64).softmax(-1),
        write_weights=torch.rand(1, 2, 5, dtype=torch.float64),
        reads=torch.zeros(1, 2, 3, dtype=torch.float64),
        fresh=torch.tensor([[0.0, 1, 0, 0, 1]], dtype=torch.float64),
    )
    inputs = (
        torch.randn(1, 2, 3, dtype=torch.float64),
        1 + torch.rand(1, 2, dtype=torch.float64),
        torch.rand(1, 2, dtype=torch.float64),
        torch.randn(1, 2, 3, dtype=torch.float64),
        torch.rand(1, 2, dtype=torch.float64),
        state.memory.clone(),
    )
    inputs = tuple(value.requires_grad_() for value in inputs)

    def step(keys, strengths, gates, contents, last_gates, memory):
        after = memory_module(state._replace(memory=memory), keys, strengths, gates, contents, last_gates)
        return after.memory, after.read_weights, after.reads, after.usage

    assert torch.autograd.gradcheck(step, inputs)


def test_reads_are_convex_combinations_of_memory_rows():
    torch.manual_seed(0)
    memory_module = LRUAMemory(slots=6, width=4, heads=3)
    state = memory_module.initial_state(2)
    for _ in range(4):
        state = memory_module(state, torch.randn(2, 3, 4), 1 + torch.rand(2, 3) * 5, torch.rand(2, 3))
        weights = state.read_weights  # [episodes, heads, slots]
        assert (weights >= 0).all() and torch.allclose(weights.sum(-1), torch.ones(2, 3))
        assert torch.allclose(state.reads, weights @ state.memory, atol=1e-6)


def test_usage_decays_by_gamma_and_adds_this_steps_reads_and_writes():
    torch.manual_seed(0)
    memory_module = LRUAMemory(slots=6, width=4, heads=2, gamma=0.5)
    state = memory_module(memory_module.initial_state(1), torch.randn(1, 2, 4), torch.ones(1, 2), torch.rand(1, 2))
    after = memory_module(state, torch.randn(1, 2, 4), torch.ones(1, 2), torch.rand(1, 2))
    expected = 0.5 * state.usage + after.read_weights.sum(1) + after.write_weights.sum(1)
    assert torch.allclose(after.usage, expected)
    idle = state.usage
    for _ in range(3):  # with nothing read or written, usage would halve each step
        idle = 0.5 * idle
    assert torch.allclose(idle, state.usage / 8)


def test_content_weights_peak_at_the_most_cosine_similar_row_and_sharpen_with_strength():
    memory = torch.tensor([[[1.0, 0.0], [0.0, 5.0], [1.0, 1.0]]])  # [1, slots, width]
    key = torch.tensor([[[0.2, 0.9]]])  # closest in angle to row 1, whatever its norm
    soft = content_weights(key, memory, torch.tensor([[1.0]]))
    sharp = content_weights(key, memory, torch.tensor([[50.0]]))
    cosine = torch.nn.functional.cosine_similarity(key[0], memory[0], dim=-1)
    assert torch.allclose(soft[0, 0], cosine.softmax(0))
    assert soft.argmax() == sharp.argmax() == 1 and sharp[0, 0, 1] > 0.99 > soft[0, 0, 1]


def test_presentations_count_each_class_in_order():
    labels = torch.tensor([[2, 0, 2, 1, 0, 2], [0, 0, 0, 1, 1, 0]])
    assert torch.equal(presentations(labels), torch.tensor([[1, 1, 2, 1, 2, 3], [1, 2, 3, 1, 2, 4]]))


def test_episode_sequences_show_each_class_instances_times_in_a_seeded_order():
    dataset = pattern_dataset()
    first, again = (EpisodeSequences(dataset, "train", ways=5, instances=4, seed=3) for _ in range(2))
    episode = first.sample()
    assert episode.images.shape == (20, 1, 28, 28) and episode.labels.shape == (20,)
    assert torch.equal(torch.bincount(episode.labels), torch.full((5,), 4))
    assert not torch.equal(episode.labels, torch.arange(5).repeat_interleave(4))  # shuffled, not label-major
    assert torch.equal(dataset.targets[episode.indices], episode.classes[episode.labels])
    assert torch.equal(again.sample().images, episode.images)
    state = first.state_dict()
    batch = first.sample_batch(3)
    first.load_state_dict(state)
    assert torch.equal(first.sample_batch(3).labels, batch.labels) and batch.images.shape == (3, 20, 1, 28, 28)


@pytest.mark.parametrize("method", LEARNERS)
@pytest.mark.parametrize("encoder", ["pixels", "conv"])
def test_training_loss_gradients_reach_every_parameter(method, encoder):
    learner = small(method, encoder=encoder)
    batch = learner.training_stream(pattern_dataset(), ways=5, shots=1, queries=1, meta_batch=3, seed=0).sample()
    loss, accuracy = learner.training_loss(batch)
    loss.backward()
    assert 0 <= accuracy <= 1 and math.isfinite(loss.item())
    for name, parameter in learner.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    names = {name for name, _ in learner.named_parameters()}
    assert {"controller.weight_ih", "output.weight"} <= names
    assert ("embedding.0.weight" in names) == (encoder == "conv")
    if method == "mann":
        assert "interface.weight" in names  # the memory's keys, strengths and write gates


@pytest.mark.parametrize("method", LEARNERS)
def test_seeded_training_is_deterministic(method):
    weights = []
    for _ in range(2):
        learner = small(method)
        stream = learner.training_stream(pattern_dataset(), ways=5, shots=1, queries=1, meta_batch=2, seed=7)
        optimizer = torch.optim.Adam(learner.parameters(), lr=1e-3)
        for _ in range(3):
            loss = learner.training_loss(stream.sample())[0]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        weights.append(torch.cat([parameter.detach().flatten() for parameter in learner.parameters()]))
    assert torch.equal(*weights)


@pytest.mark.parametrize("method", LEARNERS)
@pytest.mark.parametrize("ways, instances", [(2, 1), (3, 7), (5, 30)])
def test_sequences_of_other_lengths_than_training(method, ways, instances):
    learner = small(method).eval()
    result = accuracy_by_presentation(
        learner, pattern_dataset(per_class=30), ways=ways, instances=instances, episodes=4, split="train", batch=3
    )
    assert result.values.shape == (4, instances) and ((result.values >= 0) & (result.values <= 1)).all()
    assert len(result.table().splitlines()[1].split()) == instances


@pytest.mark.parametrize("method", LEARNERS)
def test_adapt_labels_each_query_on_its_own_from_the_support_sequence(method):
    learner = small(method).eval()
    task = TaskSampler(pattern_dataset(), "train", ways=4, shots=2, queries=3, seed=0).sample()
    with torch.no_grad():
        model = learner.adapt(task.support_x, task.support_y)
        scores = model(task.query_x)
        alone = torch.cat([model(task.query_x[index : index + 1]) for index in range(len(task.query_x))])
    assert scores.shape == (12, 4) and torch.allclose(scores, alone, atol=1e-5)


def test_episodes_need_enough_label_slots_and_encoders_are_named():
    with pytest.raises(ValueError, match=r"need 15 label slots.*build it with ways=15"):
        small("mann").training_stream(pattern_dataset(), ways=15, shots=1, queries=1, meta_batch=1, seed=0)
    with pytest.raises(ValueError, match="encoder must be one of conv, conv4, pixels"):
        MemoryAugmentedNetwork(encoder="resnet")
    with pytest.raises(ValueError, match="freeze_encoder applies to a learned encoder"):
        MemoryAugmentedNetwork(encoder="pixels", freeze_encoder=True)
    with pytest.raises(ValueError, match="heads must be between 1"):
        LRUAMemory(slots=4, heads=5)


@pytest.mark.parametrize("method", LEARNERS)
def test_a_frozen_pretrained_conv4_encoder_trains_on_precomputed_codes(method):
    from fewshot_lab.backbones import conv4
    from fewshot_lab.saved import copy_embedding

    pretrained = torch.nn.Module()
    pretrained.embedding = conv4()  # what --init RUN copies from a saved run
    with torch.no_grad():
        for parameter in pretrained.embedding.parameters():
            parameter.normal_()
    learner = small(method, encoder="conv4", freeze_encoder=True)
    copy_embedding(learner, pretrained)
    frozen = {name: tensor.clone() for name, tensor in learner.embedding.state_dict().items()}
    dataset = pattern_dataset()
    batch = learner.training_stream(dataset, ways=3, shots=1, queries=1, meta_batch=2, seed=0).sample()
    assert batch.images.shape == (2, 30, 64)  # codes, not images
    learner.eval()
    with torch.no_grad():
        expected = learner.encode(dataset.as_float(batch.indices.flatten())).view(2, 30, 64)
    assert torch.allclose(batch.images, expected, atol=1e-5)
    assert torch.allclose(expected.norm(dim=-1), torch.full((2, 30), 8.0))  # length sqrt(64)
    learner.train()
    assert not learner.embedding.training  # batch-norm statistics stay the pretrained ones
    optimizer = torch.optim.Adam(learner.parameters(), lr=1e-2)
    loss = learner.training_loss(batch)[0]
    loss.backward()
    optimizer.step()
    assert all(parameter.grad is None for parameter in learner.embedding.parameters())
    assert learner.controller.weight_ih.grad.abs().sum() > 0
    learner.adapt(dataset.as_float(batch.indices[0, :3]), torch.arange(3))  # images still work outside training
    for name, tensor in learner.embedding.state_dict().items():
        assert torch.equal(tensor, frozen[name]), name


def test_cli_refuses_a_frozen_encoder_with_augmentation_that_moves_images(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--method",
                "mann",
                "--dataset",
                "glyphs",
                "--steps",
                "1",
                "--encoder",
                "conv4",
                "--freeze-encoder",
                "--augment",
                "all",
                "--out",
                str(tmp_path / "mann"),
            ]
        )
        == 2
    )
    assert "--freeze-encoder trains on the codes" in capsys.readouterr().err
    assert not (tmp_path / "mann").exists()


@pytest.mark.parametrize("method", LEARNERS)
def test_build_learner_gives_the_papers_sizes(method):
    learner = build_learner(method, encoder="pixels")
    assert learner.controller.hidden_size == 200 and learner.controller.input_size >= 400 + 5
    if method == "mann":
        memory = learner.memory
        assert (memory.slots, memory.width, memory.heads, memory.gamma) == (128, 40, 4, 0.95)


def test_the_shipped_variant_is_named_and_is_what_the_shipped_recipe_builds():
    from fewshot_lab.pretrained import load_pretrained, recipe

    assert SHIPPED_VARIANT == {"add_vectors": True, "write_to_last": True}
    assert recipe("mann_omniglot")[1][-2:] == ["--add-vectors", "--write-to-last"]
    shipped = load_pretrained("mann_omniglot")
    assert all(getattr(shipped, option) == value for option, value in SHIPPED_VARIANT.items())
    with pytest.raises(TypeError, match="takes no option 'embedding'"):
        build_learner("mann", embedding=None)  # the sequence learners choose their own encoder


def test_cli_trains_a_mann_and_evaluate_reports_accuracy_by_presentation(tmp_path, glyphs_dataset, capsys):
    out = tmp_path / "mann"
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
                "--write-to-last",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    from fewshot_lab.saved import load

    saved = load(out).learner
    # the memory options travel with the run
    assert saved.add_vectors and saved.write_to_last and saved.config()["write_to_last"] is True
    assert main(["evaluate", str(out), "--episodes", "4"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("mann: ") and "accuracy by presentation" in printed and "10th" in printed


def test_meta_training_keeps_the_weights_best_by_presentation_on_val(tmp_path):
    from fewshot_lab.engine import meta_train

    dataset = pattern_dataset()
    learner = small("mann", instances=4)
    history = meta_train(
        learner, dataset, ways=3, meta_batch=2, steps=6, val_every=2, val_episodes=10, lr=1e-2, progress=False
    )
    score = validation_score(learner, dataset, ways=3, shots=1, queries=15, episodes=10, seed=0)
    by_presentation = accuracy_by_presentation(learner, dataset, ways=3, instances=4, episodes=10, split="val")
    assert score.mean == pytest.approx(by_presentation.values[:, 1:].mean())  # the 2nd to 4th presentations
    assert score.mean == pytest.approx(history.best_val_accuracy) == max(history.val_accuracy)
    assert len(score.values) == 10 and score.split == "val"


def test_the_recall_bound_is_perfect_on_clean_patterns_and_the_best_guess_on_first_drawings():
    """A perfect memory of clean, distinct patterns recalls every drawing after a class's first; each first
    drawing is a guess among the labels not shown yet: 1/5, 1/4, ..., 1/1 for the five classes of an episode."""
    dataset = pattern_dataset(noise=1)
    learner = small("mann")
    bound = recall_bound_by_presentation(learner, dataset, ways=5, instances=4, episodes=20, split="test")
    assert bound.values.shape == (20, 4)
    assert np.allclose(bound.values[:, 1:], 1.0)
    assert np.allclose(bound.values[:, 0], np.mean([1 / 5, 1 / 4, 1 / 3, 1 / 2, 1]))
    alike = pattern_dataset(noise=1)
    alike.images[:] = alike.images[0]  # every image the same: nothing to recall a class by
    assert recall_bound_by_presentation(learner, alike, ways=5, instances=4, episodes=20).mean[1] < 0.5
    learned = accuracy_by_presentation(learner, dataset, ways=5, instances=4, episodes=20, split="test")
    assert learned.protocol == bound.protocol  # the same seeded episodes as the learner's own table
    wider = recall_bound_by_presentation(learner, dataset, ways=6, instances=2, episodes=5)  # reads the code alone
    assert np.allclose(wider.values[:, 1], 1.0)
    with pytest.raises(ValueError, match="need 6 label slots"):
        accuracy_by_presentation(learner, dataset, ways=6, instances=2, episodes=5)

"""The Neural Turing Machine (7.6): each addressing step on hand-made inputs, reading and writing, gradients, the copy
task and its learners (the NTM and the LSTM baseline), the command line, and the figures."""

import math

import pytest
import torch

from fewshot_lab.cli import main
from fewshot_lab.data import load_dataset
from fewshot_lab.data.copy_task import CopySampler, CopyTasks, presentation, recall_inputs
from fewshot_lab.engine import meta_train
from fewshot_lab.evaluation import evaluate
from fewshot_lab.methods import build_learner
from fewshot_lab.methods.addressing import address, interpolate, read, sharpen, shift, write
from fewshot_lab.methods.copying import CopyLSTM
from fewshot_lab.methods.memory import content_weights
from fewshot_lab.methods.ntm import NeuralTuringMachine
from tests.seeded import trains_identically_twice
from tests.test_evaluation import pattern_dataset

LEARNERS = {"ntm": NeuralTuringMachine, "lstm-copy": CopyLSTM}
RIGHT, STAY, LEFT = torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.0, 1.0, 0.0]), torch.tensor([1.0, 0.0, 0.0])


def small(method: str, **options):
    """A learner small enough for tests: 4-bit vectors, 16 controller units, a 12 x 6 memory."""
    torch.manual_seed(0)
    sizes = dict(hidden=16, slots=12, width=6) if method == "ntm" else dict(hidden=16)
    return LEARNERS[method](bits=4, **{**sizes, **options})


def one_hot(slot: int, slots: int = 5) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(slot), slots).float()


def test_a_shift_of_one_moves_a_one_hot_weighting_by_one_slot_circularly():
    assert torch.equal(shift(one_hot(2), RIGHT), one_hot(3))
    assert torch.equal(shift(one_hot(4), RIGHT), one_hot(0))  # off the last slot, back at the first
    assert torch.equal(shift(one_hot(0), LEFT), one_hot(4))
    assert torch.equal(shift(one_hot(1), STAY), one_hot(1))
    spread = shift(one_hot(0), torch.tensor([0.25, 0.5, 0.25]))
    assert torch.equal(spread, torch.tensor([0.5, 0.25, 0.0, 0.0, 0.25]))  # a blur, still summing to 1
    batch = shift(torch.stack([one_hot(1), one_hot(3)])[None], torch.stack([RIGHT, LEFT])[None])  # [1, 2 heads, 5]
    assert torch.equal(batch[0], torch.stack([one_hot(2), one_hot(2)]))


def test_sharpening_with_gamma_one_changes_nothing_and_a_large_gamma_picks_the_largest_weight():
    weights = torch.tensor([[0.1, 0.5, 0.3, 0.1], [0.25, 0.25, 0.4, 0.1]])
    assert torch.allclose(sharpen(weights, torch.ones(2)), weights)
    assert torch.allclose(sharpen(one_hot(3), torch.tensor(1.0)), one_hot(3))
    sharp = sharpen(weights, torch.tensor([50.0, 50.0]))
    assert torch.allclose(sharp, torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]), atol=1e-6)
    squared = sharpen(weights, torch.tensor([2.0, 2.0]))
    assert torch.allclose(squared, weights**2 / (weights**2).sum(-1, keepdim=True))


def test_interpolation_gate_zero_keeps_the_previous_weighting_and_one_takes_the_content():
    content, previous = torch.tensor([0.7, 0.1, 0.1, 0.1]), one_hot(2, 4)
    assert torch.equal(interpolate(content, previous, torch.tensor(0.0)), previous)
    assert torch.equal(interpolate(content, previous, torch.tensor(1.0)), content)
    assert torch.allclose(interpolate(content, previous, torch.tensor(0.5)), torch.tensor([0.35, 0.05, 0.55, 0.05]))


def test_content_addressing_with_a_large_strength_picks_the_matching_row():
    memory = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]])  # [1, slots, width]
    key = torch.tensor([[[0.0, 0.2, 0.01]]])  # the direction of row 1, whatever its length
    sharp = content_weights(key, memory, torch.tensor([[100.0]]))
    assert sharp.argmax() == 1 and sharp[0, 0, 1] > 0.99
    flat = content_weights(key, memory, torch.tensor([[0.0]]))
    assert torch.allclose(flat, torch.full((1, 1, 4), 0.25))  # beta = 0: no preference


def test_address_runs_the_four_steps_in_the_papers_order():
    memory = torch.eye(5)[None, :, :4]  # rows 0-3 are distinct unit vectors, row 4 is empty
    previous = one_hot(1)[None, None]  # [1, 1 head, 5]
    key = torch.tensor([[[0.0, 0.0, 1.0, 0.0]]])  # matches row 2
    strong, ones = torch.tensor([[100.0]]), torch.ones(1, 1)
    by_location = address(memory, previous, key, strong, torch.zeros(1, 1), RIGHT[None, None], ones)
    assert torch.allclose(by_location, one_hot(2)[None, None])  # g = 0: from slot 1, one slot on
    by_content = address(memory, previous, key, strong, ones, RIGHT[None, None], ones)
    assert torch.allclose(by_content, one_hot(3)[None, None], atol=1e-6)  # g = 1: found row 2, then moved on
    staying = address(memory, previous, key, strong, ones, STAY[None, None], ones)
    assert staying[0, 0].argmax() == 2


def test_an_erase_vector_of_ones_clears_the_written_row_and_the_add_vector_fills_it():
    torch.manual_seed(0)
    memory = torch.randn(1, 5, 3)
    weights = one_hot(2)[None, None]  # [1, 1 head, 5]
    cleared = write(memory, weights, torch.ones(1, 1, 3), torch.zeros(1, 1, 3))
    assert torch.equal(cleared[0, 2], torch.zeros(3))
    assert torch.equal(cleared[0, [0, 1, 3, 4]], memory[0, [0, 1, 3, 4]])  # the other rows are untouched
    added = torch.tensor([[[0.5, -1.0, 2.0]]])
    assert torch.equal(write(memory, weights, torch.ones(1, 1, 3), added)[0, 2], added[0, 0])
    kept = write(memory, weights, torch.zeros(1, 1, 3), added)  # erase nothing: the add vector adds up
    assert torch.allclose(kept[0, 2], memory[0, 2] + added[0, 0])
    half = write(memory, 0.5 * weights, torch.ones(1, 1, 3), torch.zeros(1, 1, 3))
    assert torch.allclose(half[0, 2], 0.5 * memory[0, 2])  # a weight of 1/2 erases half
    assert torch.allclose(read(memory, weights), memory[:, 2:3])  # and a read at one slot returns that row


def test_with_two_write_heads_the_erasures_multiply_and_the_additions_sum_in_any_order():
    torch.manual_seed(0)
    memory, weights = torch.randn(1, 4, 3), torch.rand(1, 2, 4).softmax(-1)
    erase, add = torch.rand(1, 2, 3), torch.randn(1, 2, 3)
    both = write(memory, weights, erase, add)
    expected = memory * (1 - weights[0, 0, :, None] * erase[0, 0]) * (1 - weights[0, 1, :, None] * erase[0, 1])
    expected = expected + weights[0, 0, :, None] * add[0, 0] + weights[0, 1, :, None] * add[0, 1]
    assert torch.allclose(both, expected)
    assert torch.allclose(both, write(memory, weights.flip(1), erase.flip(1), add.flip(1)))


def test_an_addressing_and_writing_step_matches_finite_differences_in_every_input():
    torch.manual_seed(0)
    inputs = (
        torch.randn(1, 5, 3, dtype=torch.float64),  # memory
        torch.rand(1, 2, 5, dtype=torch.float64).softmax(-1),  # w_{t-1}
        torch.randn(1, 2, 3, dtype=torch.float64),  # k_t
        1 + torch.rand(1, 2, dtype=torch.float64),  # beta_t
        torch.rand(1, 2, dtype=torch.float64),  # g_t
        torch.rand(1, 2, 3, dtype=torch.float64).softmax(-1),  # s_t
        1 + torch.rand(1, 2, dtype=torch.float64),  # gamma_t
        torch.rand(1, 2, 3, dtype=torch.float64),  # e_t
        torch.randn(1, 2, 3, dtype=torch.float64),  # a_t
    )

    def step(memory, previous, keys, strengths, gates, shifts, sharpening, erase, add):
        weights = address(memory, previous, keys, strengths, gates, shifts, sharpening)
        return read(memory, weights), write(memory, weights, erase, add)

    assert torch.autograd.gradcheck(step, tuple(value.requires_grad_() for value in inputs))


class CopyLoss(torch.nn.Module):
    """A copy learner's training loss as a module's forward, for torch.func.functional_call."""

    def __init__(self, learner):
        super().__init__()
        self.learner = learner

    def forward(self, batch):
        return self.learner.training_loss(batch)[0]


@pytest.fixture
def float64():
    """Tensors made without a dtype are float64 during the test (as in the pretrained models' fingerprints)."""
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("method", LEARNERS)
def test_the_gradient_of_the_copy_loss_matches_finite_differences_for_every_parameter(method, float64):
    torch.manual_seed(0)
    loss = CopyLoss(LEARNERS[method](bits=2, hidden=3, **({"slots": 4, "width": 2} if method == "ntm" else {})))
    batch = CopySampler(CopyTasks(bits=2), "train", lengths=(3, 3)).sample_batch(2)
    names = [name for name, _ in loss.named_parameters()]

    def from_parameters(*parameters):
        return torch.func.functional_call(loss, dict(zip(names, parameters)), (batch,))

    parameters = tuple(parameter.detach().clone().requires_grad_() for parameter in loss.parameters())
    assert len(parameters) == (8 if method == "ntm" else 6)  # every weight and bias
    assert torch.autograd.gradcheck(from_parameters, parameters, fast_mode=True)  # along random directions


@pytest.mark.parametrize("method", LEARNERS)
def test_training_loss_gradients_reach_every_parameter(method):
    learner = small(method)
    batch = learner.training_stream(CopyTasks(bits=4), ways=5, shots=5, queries=1, meta_batch=3, seed=0).sample()
    loss, bits_right = learner.training_loss(batch)
    loss.backward()
    assert math.isfinite(loss.item()) and 0 <= bits_right <= 1
    for name, parameter in learner.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_the_copy_task_shows_the_sequence_then_the_delimiter_then_asks_for_it_back():
    copy = CopyTasks()
    task = copy.sampler("test", shots=5, seed=0).sample()
    assert task.support_x.shape == task.query_y.shape == (5, 8) and torch.equal(task.query_y, task.support_x)
    assert torch.equal(task.query_x, torch.zeros(5, 8)) and torch.equal(task.support_y, torch.arange(5))
    assert set(task.support_x.unique().tolist()) == {0.0, 1.0}
    shown = presentation(task.support_x)  # [6, 9]
    assert torch.equal(shown[:5, :8], task.support_x) and torch.equal(shown[:5, 8], torch.zeros(5))
    assert torch.equal(shown[5], torch.tensor([0.0] * 8 + [1.0]))  # the delimiter, alone on its channel
    assert torch.equal(recall_inputs(task.query_x), torch.zeros(5, 9))
    assert torch.equal(copy.sampler("test", 5, seed=0).sample().support_x, task.support_x)  # seeded
    assert not torch.equal(copy.sampler("val", 5, seed=0).sample().support_x, task.support_x)  # splits differ
    lengths = {
        CopySampler(copy, "train", lengths=(1, 4), seed=seed).sample_batch(3).support_x.shape[1] for seed in range(40)
    }
    assert lengths == {1, 2, 3, 4}
    sampler = CopySampler(copy, "train", lengths=(1, 4), seed=1)
    state = sampler.state_dict()
    first = sampler.sample_batch(2)
    sampler.load_state_dict(state)
    assert torch.equal(sampler.sample_batch(2).support_x, first.support_x)  # resumable


@pytest.mark.parametrize("method", LEARNERS)
def test_adapt_reads_the_sequence_in_the_order_of_its_positions_and_recalls_step_by_step(method):
    learner = small(method).eval()
    task = CopyTasks(bits=4).sampler("test", shots=6, seed=0).sample()
    with torch.no_grad():
        scores = learner.adapt(task.support_x, task.support_y)(task.query_x)
        shuffled = torch.randperm(6)
        again = learner.adapt(task.support_x[shuffled], task.support_y[shuffled])(task.query_x)
        inputs = torch.cat([presentation(task.support_x), recall_inputs(task.query_x)])[None]
        whole = learner.unroll(inputs)[0][0, -6:]
    assert scores.shape == (6, 4) and torch.allclose(scores, again) and torch.allclose(scores, whole, atol=1e-6)


def test_the_ntm_learns_to_copy_within_a_short_budget():
    """Chance is half the bits wrong: 4 errors per sequence of two 4-bit vectors. 300 steps of 32 sequences of
    length 1 or 2 (about 10 s on one core) bring the NTM below a fifth of that."""
    torch.manual_seed(0)
    ntm = NeuralTuringMachine(bits=4, hidden=32, slots=8, width=6)
    copy = CopyTasks(bits=4)
    chance = evaluate(ntm, copy, shots=2, episodes=100)
    meta_train(ntm, copy, shots=2, meta_batch=32, steps=300, lr=1e-2, val_every=300, val_episodes=2, progress=False)
    learned = evaluate(ntm, copy, shots=2, episodes=100)
    assert chance.mean > 3 and learned.mean < 0.8, (chance.mean, learned.mean)


@pytest.mark.parametrize("method", LEARNERS)
def test_seeded_training_is_deterministic(method):
    assert trains_identically_twice(
        lambda: small(method), CopyTasks(bits=4), shots=3, meta_batch=2, steps=3, val_every=3, val_episodes=2, seed=5
    )


def test_bad_inputs_are_refused_in_the_callers_words():
    with pytest.raises(ValueError, match="bits \\(per vector\\) must be a positive integer, got 0"):
        CopyTasks(bits=0)
    with pytest.raises(ValueError, match="needs a length of at least 1 \\(shots is the length\\)"):
        CopyTasks().sampler("test", shots=0)
    with pytest.raises(ValueError, match="slots must be a positive integer"):
        NeuralTuringMachine(slots=0)
    ntm = small("ntm")
    with pytest.raises(ValueError, match="copies 4-bit vectors, got vectors of 8 bits; build it with bits=8"):
        ntm.adapt(torch.zeros(3, 8), torch.arange(3))
    with pytest.raises(ValueError, match="vectors \\[length, bits\\] and their positions \\[length\\]"):
        ntm.adapt(torch.zeros(3, 4), torch.arange(2))
    with pytest.raises(ValueError, match="copies 4-bit vectors"):
        ntm.training_stream(CopyTasks(bits=8), ways=5, shots=3, queries=1, meta_batch=2, seed=0)
    with pytest.raises(ValueError, match="ntm learners take the copy task \\(dataset copy\\), but patterns holds"):
        meta_train(ntm, pattern_dataset(), steps=1, progress=False)
    with pytest.raises(ValueError, match=r"protonet learners take image classification .* but copy holds the copy"):
        evaluate(build_learner("protonet"), CopyTasks(), episodes=2)
    with pytest.raises(ValueError, match="copy has no alphabets"):
        evaluate(ntm, CopyTasks(bits=4), episodes=2, within_alphabet=True)


@pytest.mark.parametrize("method", LEARNERS)
def test_cli_trains_on_the_copy_task_and_evaluate_reports_bit_errors_with_a_confidence_interval(
    method, tmp_path, capsys
):
    out = tmp_path / method
    command = [
        "train",
        "--method",
        method,
        "--dataset",
        "copy",
        "--shots",
        "3",
        "--meta-batch",
        "2",
        "--steps",
        "2",
        "--val-every",
        "2",
        "--val-episodes",
        "3",
        "--out",
        str(out),
    ]
    assert main(command) == 0
    assert "best meta-validation bit errors per sequence" in capsys.readouterr().out
    assert main(["evaluate", str(out), "--episodes", "5"]) == 0  # the run's own length, 3
    printed = capsys.readouterr().out
    assert (
        printed.startswith(f"{method}: ") and "bit errors per sequence (sequences of length 3, 5 test tasks" in printed
    )
    assert main(["evaluate", str(out), "--episodes", "5", "--shots", "6"]) == 0
    assert "sequences of length 6" in capsys.readouterr().out
    assert main([*command[:-1], str(tmp_path / "other"), "--augment", "all"]) == 2
    assert "--augment all transforms images; copy has no images" in capsys.readouterr().err
    assert main(["compare", str(out), "--out", str(tmp_path / "table.md")]) == 2  # no ways to compare at
    assert f"{out} ({method}) learned generated tasks" in capsys.readouterr().err
    assert not (tmp_path / "table.md").exists()


def test_cli_refuses_a_method_of_another_task_family(tmp_path, capsys):
    assert main(["train", "--method", "ntm", "--dataset", "sinusoid", "--steps", "1", "--out", str(tmp_path)]) == 2
    assert "ntm learners take the copy task (dataset copy), but sinusoid holds" in capsys.readouterr().err
    assert load_dataset("copy", bits=6).bits == 6


def test_copy_figures_draw_the_heads_and_the_errors_by_length():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fewshot_lab.lessons.s76 import (
        copy_trace,
        errors_by_length,
        plot_bit_errors_by_length,
        plot_copy_weightings,
    )

    ntm, copy = small("ntm"), CopyTasks(bits=4)
    trace = copy_trace(ntm, copy.sampler("test", shots=5, seed=0).sample())
    assert trace.inputs.shape == (11, 5) and trace.outputs.shape == (11, 4)
    assert trace.write_weights.shape == trace.read_weights.shape == (11, 1, 12)
    assert torch.allclose(trace.write_weights.sum(-1), torch.ones(11, 1))
    results = {name: errors_by_length(small(name), copy, [1, 2, 4], episodes=3) for name in LEARNERS}
    assert [evaluation.shots for evaluation in results["ntm"]] == [1, 2, 4]
    for figure in (plot_copy_weightings(trace), plot_bit_errors_by_length(results, trained=2)):
        assert figure.axes
        plt.close(figure)


def test_the_copy_learners_refuse_image_datasets():
    with pytest.raises(ValueError, match="lstm-copy learners take the copy task"):
        evaluate(small("lstm-copy"), pattern_dataset(), episodes=2)

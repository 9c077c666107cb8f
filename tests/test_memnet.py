"""End-to-end memory networks (7.6): position and temporal encoding, the hops' equations, adjacent weight tying,
gradients, learning stories, the command line and the attention figure."""

import math

import pytest
import torch

from fewshot_lab.cli import main
from fewshot_lab.data.copy_task import CopyTasks
from fewshot_lab.data.stories import VOCABULARY, StoryTasks, encode
from fewshot_lab.engine import meta_train
from fewshot_lab.evaluation import evaluate
from fewshot_lab.methods import build_learner
from fewshot_lab.methods.memnet import EndToEndMemoryNetwork
from tests.seeded import trains_identically_twice


def small(**options):
    torch.manual_seed(0)
    return EndToEndMemoryNetwork(**{"hops": 2, "dimensions": 6, "memory_size": 8, **options})


def story(shots=5, queries=2, task=2, seed=0):
    return StoryTasks(task).sampler("test", shots=shots, queries=queries, seed=seed).sample()


def test_position_encoding_weighs_each_word_by_the_papers_l_kj_and_padding_counts_for_nothing():
    net = small(dimensions=4, position_encoding=True)
    with torch.no_grad():
        net.embeddings[0].weight[1:] = 1.0  # every word embeds as ones: the encoding is sum_j l_j
    sentence = encode(["mary went to"])  # J = 3 words, then padding
    d, length = 4, 3
    expected = torch.tensor(
        [sum((1 - j / length) - (k / d) * (1 - 2 * j / length) for j in range(1, length + 1)) for k in range(1, d + 1)]
    )
    assert torch.allclose(net.encode(sentence, 0)[0], expected)
    reordered = encode(["to went mary"])
    with torch.no_grad():
        net.embeddings[0].weight.normal_()
    assert not torch.allclose(net.encode(sentence, 0), net.encode(reordered, 0))  # word order counts
    bag = small(dimensions=4, position_encoding=False)
    assert torch.allclose(bag.encode(sentence, 1), bag.embeddings[1].weight[sentence[0, :3]].sum(0))
    assert torch.allclose(bag.encode(sentence, 1), bag.encode(reordered, 1))  # a bag of words does not
    before = net.encode(sentence, 0)
    with torch.no_grad():
        net.embeddings[0].weight[0] = 100.0  # whatever the padding's row holds
    assert torch.equal(net.encode(sentence, 0), before)


def test_one_hop_follows_the_papers_equations_and_the_answer_matrix_is_the_last_embedding():
    net = small(hops=1, temporal_encoding=False)
    task = story()
    sentences, questions = task.support_x[None], task.query_x[None]
    memory_in, memory_out = net.encode(sentences, 0), net.encode(sentences, 1)  # m_i with A = B, c_i with C = W^T
    question = net.encode(questions, 0)  # u^1
    attention = (question @ memory_in.transpose(1, 2)).softmax(-1)  # p_i, eq. 1
    answer = (question + attention @ memory_out) @ net.embeddings[1].weight.T  # W (u^1 + o^1), eq. 3
    scores, recorded = net.read(net.write(sentences, task.support_y[None]), questions, record=True)
    assert torch.allclose(scores, answer, atol=1e-6) and torch.allclose(recorded[0], attention, atol=1e-6)
    assert len(net.embeddings) == 2  # adjacent tying: K + 1 embeddings for K hops


def test_hops_add_what_they_read_and_attention_is_a_distribution_over_the_kept_sentences():
    net = small(hops=3, memory_size=4)
    task = story(shots=7)
    scores, attention = net.read(net.write(task.support_x[None], task.support_y[None]), task.query_x[None], record=True)
    assert scores.shape == (1, 2, len(VOCABULARY)) and attention.shape == (3, 1, 2, 7)
    assert torch.allclose(attention.sum(-1), torch.ones(3, 1, 2))
    assert (attention[..., :3] == 0).all() and (attention[..., 3:] > 0).all()  # the 4 most recent sentences only


def test_the_memory_is_ordered_by_the_positions_which_temporal_encoding_reads():
    net = small().eval()
    task = story(shots=6)
    shuffled = torch.randperm(6)
    with torch.no_grad():
        scores = net.adapt(task.support_x, task.support_y)(task.query_x)
        again = net.adapt(task.support_x[shuffled], task.support_y[shuffled])(task.query_x)
        reversed_ages = net.adapt(task.support_x, task.support_y.flip(0))(task.query_x)
    assert scores.shape == (2, len(VOCABULARY)) and torch.allclose(scores, again, atol=1e-6)
    assert not torch.allclose(scores, reversed_ages)  # with temporal encoding, which sentence is last matters
    plain = small(temporal_encoding=False).eval()
    with torch.no_grad():
        same = [plain.adapt(task.support_x, positions)(task.query_x) for positions in (task.support_y, shuffled)]
    assert torch.allclose(*same, atol=1e-6)  # without it, the memory is a set of sentences


def test_linear_start_reads_without_the_softmax_for_its_steps_then_with_it():
    net = small(hops=1, linear_start=2)
    batch = StoryTasks(2).sampler("train", shots=5, queries=2, seed=0).sample_batch(3)
    memory = net.write(batch.support_x, batch.support_y)
    logits = net.encode(batch.query_x, 0) @ memory[0][0].transpose(1, 2)  # u^1 . m_i
    for step in range(3):
        attention = net.read(memory, batch.query_x, record=True)[1][0]
        assert torch.allclose(attention, logits if step < 2 else logits.softmax(-1), atol=1e-6), step
        assert int(net.training_steps) == step
        net.training_loss(batch)
    assert int(net.state_dict()["training_steps"]) == 3  # saved with the weights, so a resumed run goes on counting
    with pytest.raises(ValueError, match="linear_start must be a number of training steps"):
        EndToEndMemoryNetwork(linear_start=-1)


class StoryLoss(torch.nn.Module):
    def __init__(self, learner):
        super().__init__()
        self.learner = learner

    def forward(self, batch):
        return self.learner.training_loss(batch)[0]


def test_the_gradient_matches_finite_differences_for_every_parameter():
    torch.set_default_dtype(torch.float64)
    try:
        loss = StoryLoss(small(dimensions=3, memory_size=6))
        batch = StoryTasks(2).sampler("train", shots=5, queries=2, seed=0).sample_batch(2)
        names = [name for name, _ in loss.named_parameters()]

        def from_parameters(*parameters):
            return torch.func.functional_call(loss, dict(zip(names, parameters)), (batch,))

        parameters = tuple(parameter.detach().clone().requires_grad_() for parameter in loss.parameters())
        assert len(parameters) == 4  # three embeddings (two hops, adjacent tying) and the temporal encodings
        assert torch.autograd.gradcheck(from_parameters, parameters, fast_mode=True)
    finally:
        torch.set_default_dtype(torch.float32)


def test_training_loss_gradients_reach_every_parameter():
    net = small(hops=3)
    batch = net.training_stream(StoryTasks(2), ways=5, shots=6, queries=3, meta_batch=4, seed=0).sample()
    loss, accuracy = net.training_loss(batch)
    loss.backward()
    assert math.isfinite(loss.item()) and 0 <= accuracy <= 1
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert net.embeddings[0].weight.grad[0].abs().sum() == 0  # the padding learns nothing


def test_one_hop_learns_single_supporting_facts_within_a_short_budget():
    """Chance is one place in six (17%); 400 steps of 32 stories of 4 sentences (about 10 s on one core) answer
    nearly every question."""
    torch.manual_seed(0)
    net = EndToEndMemoryNetwork(hops=1, memory_size=20)
    stories = StoryTasks(1)
    meta_train(
        net,
        stories,
        shots=4,
        queries=3,
        meta_batch=32,
        steps=400,
        lr=2e-2,
        val_every=400,
        val_episodes=2,
        progress=False,
    )
    learned = evaluate(net, stories, shots=4, queries=3, episodes=200)
    assert learned.mean > 0.9, learned


def test_seeded_training_is_deterministic():
    assert trains_identically_twice(
        small, StoryTasks(2), shots=5, queries=2, meta_batch=3, steps=3, val_every=3, val_episodes=2, seed=4
    )


def test_bad_inputs_are_refused_in_the_callers_words():
    net = small()
    task = story()
    with pytest.raises(ValueError, match="sentences must be word indices, a long tensor"):
        net.adapt(task.support_x.float(), task.support_y)
    with pytest.raises(ValueError, match="hold word index 40, but this memory network knows 34 words"):
        net.adapt(task.support_x, task.support_y)(torch.full((1, 6), 40))
    with pytest.raises(ValueError, match="support_y gives the position of each sentence"):
        net.adapt(task.support_x, task.support_y[:2])
    with pytest.raises(ValueError, match="hops must be a positive integer, got 0"):
        EndToEndMemoryNetwork(hops=0)
    with pytest.raises(
        ValueError, match=r"memnet learners take stories with questions .* but copy holds the copy task"
    ):
        evaluate(net, CopyTasks(), episodes=2)
    assert build_learner("memnet", hops=1).config()["hops"] == 1


def test_cli_trains_a_memory_network_and_evaluate_reports_answer_accuracy(tmp_path, capsys):
    out = tmp_path / "memnet"
    command = [
        "train",
        "--method",
        "memnet",
        "--dataset",
        "babi-2",
        "--shots",
        "6",
        "--queries",
        "2",
        "--hops",
        "2",
        "--meta-batch",
        "4",
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
    assert "best meta-validation accuracy" in capsys.readouterr().out
    assert main(["evaluate", str(out), "--episodes", "5"]) == 0
    printed = capsys.readouterr().out
    assert (
        printed.startswith("memnet: ")
        and "(stories of 6 sentences, 2 questions each, 5 test tasks of babi-2" in printed
    )
    assert main(["evaluate", str(out), "--episodes", "5", "--dataset", "babi-1", "--shots", "3"]) == 0
    assert "stories of 3 sentences, 2 questions each, 5 test tasks of babi-1" in capsys.readouterr().out


def test_the_attention_figure_draws_one_question():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fewshot_lab.lessons.s76 import plot_story_attention

    stories = StoryTasks(2)
    figure = plot_story_attention(small(hops=3), stories, story(shots=6), question=1)
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert len(labels) == 6 and sum(label.startswith("→ ") for label in labels) == 2  # two supporting facts
    assert len(figure.axes[0].get_xticklabels()) == 3
    plt.close(figure)

"""The MAML family (7.8): meta-gradients checked against finite differences and per-task references,
first order vs second order, Reptile's closed form on a quadratic, batch norm, and learners that learn."""

import json

import pytest
import torch
from torch import nn

from fewshot_lab.backbones import compute_precision
from fewshot_lab.cli import main
from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.data.tasks import Task, TaskSampler
from fewshot_lab.engine import meta_train
from fewshot_lab.evaluation import evaluate, task_scores
from fewshot_lab.learner import task_loss
from fewshot_lab.methods import build_learner
from fewshot_lab.methods.anil import ANIL
from fewshot_lab.methods.maml import MAML, FirstOrderMAML
from fewshot_lab.methods.metasgd import MetaSGD
from fewshot_lab.methods.reptile import Reptile
from fewshot_lab.saved import load
from tests.test_evaluation import pattern_dataset

FAMILY = {"maml": MAML, "fomaml": FirstOrderMAML, "metasgd": MetaSGD, "anil": ANIL}


def vector_batch(tasks=3, ways=3, shots=2, queries=3, inputs=4, seed=0, dtype=torch.float64) -> Task:
    """A meta-batch of classification tasks on random vectors: [tasks, ways * shots, inputs] supports."""
    generator = torch.Generator().manual_seed(seed)
    support_y = torch.arange(ways).repeat_interleave(shots).repeat(tasks, 1)  # [tasks, ways * shots]
    query_y = torch.randint(0, ways, (tasks, ways * queries), generator=generator)
    return Task(
        torch.randn(tasks, ways * shots, inputs, generator=generator, dtype=dtype),
        support_y,
        torch.randn(tasks, ways * queries, inputs, generator=generator, dtype=dtype),
        query_y,
        torch.zeros(tasks, ways),
        torch.zeros(tasks, ways * shots),
        torch.zeros(tasks, ways * queries),
    )


def small_learner(cls, batch_norm=False, inner_steps=2, task_batching="loop", seed=0, **options):
    """A float64 MLP learner: body 4 -> 6 (-> batch norm) -> tanh -> 5 -> tanh, head 5 -> 3."""
    torch.manual_seed(seed)
    body = nn.Sequential(
        nn.Linear(4, 6), nn.BatchNorm1d(6) if batch_norm else nn.Identity(), nn.Tanh(), nn.Linear(6, 5), nn.Tanh()
    )
    learner = cls(
        body, features=5, ways=3, inner_steps=inner_steps, inner_lr=0.3, task_batching=task_batching, **options
    ).double()
    return learner.train()


def meta_gradient(learner, batch) -> torch.Tensor:
    """The gradient of the meta-objective with respect to every meta-parameter, flattened; buffers restored."""
    state = {name: value.clone() for name, value in learner.state_dict().items()}
    learner.zero_grad()
    learner.training_loss(batch)[0].backward()
    learner.load_state_dict(state)
    return torch.cat([p.grad.flatten() for p in learner.parameters()])


def finite_differences(learner, batch, coordinates=range(0, 200, 7), epsilon=1e-6) -> tuple[list, list]:
    parameters = torch.nn.utils.parameters_to_vector(learner.parameters()).detach()
    numeric = []
    for index in coordinates:
        values = []
        for sign in (1, -1):
            shifted = parameters.clone()
            shifted[index] += sign * epsilon
            torch.nn.utils.vector_to_parameters(shifted, learner.parameters())
            state = {name: value.clone() for name, value in learner.state_dict().items()}
            with torch.enable_grad():
                values.append(learner.training_loss(batch)[0].item())
            learner.load_state_dict(state)
        numeric.append((values[0] - values[1]) / (2 * epsilon))
    torch.nn.utils.vector_to_parameters(parameters, learner.parameters())
    return list(coordinates), numeric


@pytest.mark.parametrize("cls", [MAML, MetaSGD, ANIL])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_second_order_meta_gradient_matches_finite_differences(cls, batch_norm):
    learner, batch = small_learner(cls, batch_norm=batch_norm), vector_batch()
    analytic = meta_gradient(learner, batch)
    coordinates, numeric = finite_differences(learner, batch, coordinates=range(0, len(analytic), 5))
    assert torch.allclose(analytic[coordinates], torch.tensor(numeric, dtype=torch.float64), rtol=1e-5, atol=1e-7)


def test_meta_gradient_is_the_mean_of_per_task_meta_gradients():
    learner, batch = small_learner(MAML), vector_batch(tasks=3)
    together = meta_gradient(learner, batch)
    alone = [
        meta_gradient(learner, Task(*(value[index : index + 1] for value in batch.__dict__.values())))
        for index in range(3)
    ]
    assert torch.allclose(together, torch.stack(alone).mean(0), atol=1e-12)


@pytest.mark.parametrize("method", FAMILY)
def test_vmap_over_tasks_gives_the_per_task_loop_result(method):
    batch = vector_batch(tasks=4)
    loop = small_learner(FAMILY[method], task_batching="loop")
    batched = small_learner(FAMILY[method], task_batching="vmap")
    assert batched.uses_vmap(torch.device("cpu")) and not loop.uses_vmap(torch.device("cpu"))
    loss_loop, accuracy_loop = loop.training_loss(batch)
    loss_vmap, accuracy_vmap = batched.training_loss(batch)
    assert torch.allclose(loss_loop, loss_vmap, atol=1e-12) and accuracy_loop == accuracy_vmap
    assert torch.allclose(meta_gradient(loop, batch), meta_gradient(batched, batch), atol=1e-10)


def test_vmap_is_refused_where_it_would_be_wrong_and_auto_avoids_it():
    with pytest.raises(ValueError, match="wrong second-order meta-gradients through batch norm"):
        small_learner(MAML, batch_norm=True, task_batching="vmap")
    assert not small_learner(MAML, batch_norm=True, task_batching="auto").uses_vmap(torch.device("cpu"))
    assert small_learner(MAML, batch_norm=False, task_batching="auto").uses_vmap(torch.device("cpu"))
    assert not build_learner("maml", backbone="conv4-small").uses_vmap(torch.device("cpu"))  # convolutions on a CPU
    first_order = small_learner(FirstOrderMAML, batch_norm=True, task_batching="vmap")  # first order is right
    batch = vector_batch()
    assert torch.allclose(
        meta_gradient(first_order, batch),
        meta_gradient(small_learner(FirstOrderMAML, batch_norm=True), batch),
        atol=1e-10,
    )


def test_first_order_is_second_order_without_the_second_order_term():
    batch = vector_batch(tasks=1)
    task = Task(*(value[0] for value in batch.__dict__.values()))
    first = small_learner(FirstOrderMAML, inner_steps=3)
    adapted = {
        name: weight.detach().requires_grad_()
        for name, weight in first.inner_loop(task.support_x, task.support_y).items()
    }
    query_loss = task_loss(first.functional(adapted, task.query_x), task.query_y)
    expected = torch.cat([g.flatten() for g in torch.autograd.grad(query_loss, list(adapted.values()))])
    assert torch.allclose(meta_gradient(first, batch), expected, atol=1e-12)  # grad at theta' applied to theta
    second = meta_gradient(small_learner(MAML, inner_steps=3), batch)
    assert (second - expected).abs().max() > 1e-3  # the dropped term is not negligible here


def test_reptile_update_on_a_quadratic_matches_its_closed_form():
    """Linear regression: L(phi) = mean (X phi - y)^2 has Hessian H = 2/n X^T X and minimum phi*, so k SGD steps
    give phi_k - phi* = (I - alpha H)^k (theta - phi*), and Reptile's step direction theta - phi_k is
    (I - (I - alpha H)^k)(theta - phi*)."""
    torch.manual_seed(0)
    steps, alpha, inputs = 4, 0.05, 3
    learner = Reptile(nn.Flatten(), features=inputs, ways=1, inner_steps=steps, inner_lr=alpha).double().train()
    x = torch.randn(10, inputs, dtype=torch.float64)
    y = torch.randn(10, 1, dtype=torch.float64)
    batch = Task(
        x[None, :4], y[None, :4], x[None, 4:], y[None, 4:], torch.zeros(1, 1), torch.zeros(1, 4), torch.zeros(1, 6)
    )
    learner.zero_grad()
    learner.training_loss(batch)[0].backward()
    direction = torch.cat([learner.network.head.weight.grad.flatten(), learner.network.head.bias.grad])

    design = torch.cat([x, torch.ones(10, 1, dtype=torch.float64)], 1)  # [n, inputs + 1]: weights then bias
    hessian = 2 / len(x) * design.T @ design
    optimum = torch.linalg.lstsq(design, y).solution.flatten()
    theta = torch.cat([learner.network.head.weight.detach().flatten(), learner.network.head.bias.detach()])
    contraction = torch.linalg.matrix_power(torch.eye(inputs + 1, dtype=torch.float64) - alpha * hessian, steps)
    expected = (torch.eye(inputs + 1, dtype=torch.float64) - contraction) @ (theta - optimum)
    assert torch.allclose(direction, expected, atol=1e-12)


def test_anil_adapts_the_head_only_and_meta_sgd_learns_its_step_sizes():
    batch = vector_batch(tasks=2)
    task = Task(*(value[0] for value in batch.__dict__.values()))
    anil = small_learner(ANIL, inner_steps=3)
    adapted = anil.inner_loop(task.support_x, task.support_y)
    assert set(adapted) == {"head.weight", "head.bias"}
    maml_with_frozen_body = small_learner(MAML, inner_steps=3)
    maml_with_frozen_body.fast_parameters = anil.fast_parameters  # the same weights, head-only inner loop
    reference = maml_with_frozen_body.inner_loop(task.support_x, task.support_y)
    assert all(torch.allclose(adapted[name], reference[name], atol=1e-12) for name in adapted)

    meta_sgd = small_learner(MetaSGD)
    assert all(torch.allclose(alpha, torch.full_like(alpha, 0.3)) for alpha in meta_sgd.alpha)
    meta_gradient(meta_sgd, batch)
    assert all(alpha.grad is not None and alpha.grad.abs().sum() > 0 for alpha in meta_sgd.alpha)


def test_adapting_changes_neither_weights_nor_batch_norm_statistics():
    learner = build_learner("maml", backbone="conv4-small", ways=5).eval()
    state = {name: value.clone() for name, value in learner.state_dict().items()}
    task = TaskSampler(pattern_dataset(classes=12), "train", ways=5, shots=1, queries=2, seed=0).sample()
    before = learner.adapt(task.support_x, task.support_y)(task.query_x)
    with torch.no_grad():
        task_scores(learner, task.support_x, task.support_y, task.query_x)  # works even where autograd is off
    assert all(torch.equal(value, learner.state_dict()[name]) for name, value in state.items())
    assert torch.equal(before, learner.adapt(task.support_x, task.support_y)(task.query_x))


def test_transductive_batch_norm_is_a_choice_with_visible_consequences():
    task = TaskSampler(pattern_dataset(classes=12), "train", ways=5, shots=1, queries=4, seed=0).sample()
    for transductive in (True, False):
        learner = build_learner("maml", backbone="conv4-small", ways=5, transductive=transductive).eval()
        model = learner.adapt(task.support_x, task.support_y)
        alone = torch.cat([model(task.query_x[index : index + 2]) for index in range(0, len(task.query_x), 2)])
        together = model(task.query_x)
        # transductive: a query's scores depend on the other queries it is normalised with; otherwise not
        assert torch.allclose(alone, together, atol=1e-5) != transductive


def test_bad_tasks_and_options_are_refused_in_the_callers_words():
    learner = build_learner("maml", backbone="conv4-small", ways=5)
    with pytest.raises(ValueError, match="5-way head, but the task has 20 ways: build one with ways=20"):
        learner.adapt(torch.rand(20, 1, 28, 28), torch.arange(20))
    with pytest.raises(ValueError, match="support set is empty"):
        learner.adapt(torch.rand(0, 1, 28, 28), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="inner_lr must be a positive number"):
        build_learner("maml", backbone="conv4-small", inner_lr=-1.0)
    with pytest.raises(ValueError, match="task_batching must be one of"):
        build_learner("anil", backbone="conv4-small", task_batching="threads")


@pytest.mark.slow
def test_maml_beats_chance_on_unseen_glyphs_and_training_is_seeded(glyphs_dataset):
    results = []
    for _ in range(2):
        torch.manual_seed(0)  # the initial weights
        learner = build_learner(
            "fomaml", backbone="conv4-small", ways=5, inner_steps=1, inner_lr=0.4, test_inner_steps=3
        )
        meta_train(
            learner,
            glyphs_dataset,
            ways=5,
            shots=1,
            queries=5,
            meta_batch=4,
            steps=60,
            lr=3e-3,
            val_every=60,
            val_episodes=10,
            progress=False,
        )
        results.append(evaluate(learner, glyphs_dataset, ways=5, shots=1, episodes=40))
    assert results[0].mean == results[1].mean  # same seed, same run
    assert results[0].mean > 0.45, results[0]  # chance is 0.2


@pytest.mark.slow
def test_maml_learns_sinusoids_and_adapts_better_than_it_starts():
    sinusoid = load_dataset("sinusoid")
    learner = build_learner("maml", backbone="mlp", in_channels=1, image_size=1, ways=1, inner_lr=0.01)
    assert learner.uses_vmap(torch.device("cpu"))  # a small MLP: tasks batched with vmap
    meta_train(
        learner,
        sinusoid,
        shots=10,
        queries=10,
        meta_batch=25,
        steps=1500,
        val_every=1500,
        val_episodes=20,
        progress=False,
    )
    errors = {}
    for steps in (0, 1, 10):
        learner.test_inner_steps = steps
        errors[steps] = evaluate(learner, sinusoid, shots=5, episodes=100).mean
    # a wave's mean is 0: without adapting, a model can only predict about A^2/2 ~ 4.2 of error
    assert errors[1] < 0.8 * errors[0] and errors[10] < errors[1], errors


def test_cli_trains_the_family_and_evaluates_regression_with_more_steps(tmp_path, capsys, glyphs_dataset):
    for method in ("reptile", "anil", "metasgd"):
        out = tmp_path / method
        assert (
            main(
                [
                    "train",
                    "--method",
                    method,
                    "--dataset",
                    "glyphs",
                    "--backbone",
                    "conv4-small",
                    "--ways",
                    "5",
                    "--queries",
                    "2",
                    "--meta-batch",
                    "2",
                    "--inner-steps",
                    "1",
                    "--steps",
                    "2",
                    "--val-every",
                    "2",
                    "--val-episodes",
                    "2",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        task = TaskSampler(glyphs_dataset, "test", ways=5, shots=1, queries=1, seed=0).sample()
        saved = load(out)
        assert saved.learner.method == method and saved.learner.inner_steps == 1
        assert len(saved.predict(list(task.support_x), list(task.support_y.tolist()), list(task.query_x))) == 5
    assert (
        main(
            [
                "train",
                "--method",
                "maml",
                "--dataset",
                "sinusoid",
                "--shots",
                "5",
                "--queries",
                "5",
                "--meta-batch",
                "4",
                "--inner-lr",
                "0.01",
                "--steps",
                "4",
                "--val-every",
                "4",
                "--val-episodes",
                "3",
                "--out",
                str(tmp_path / "sine"),
            ]
        )
        == 0
    )
    assert "best meta-validation mean squared error" in capsys.readouterr().out
    assert (
        main(["evaluate", str(tmp_path / "sine"), "--shots", "5", "--inner-steps", "10", "--episodes", "5", "--json"])
        == 0
    )
    record = json.loads(capsys.readouterr().out)
    assert record["metric"] == "mse" and record["episodes"] == 5
    assert main(["evaluate", str(tmp_path / "reptile"), "--ways", "20", "--episodes", "2"]) == 2
    assert "build one with ways=20" in capsys.readouterr().err
    assert (
        main(["train", "--method", "maml", "--dataset", "sinusoid", "--augment", "all", "--out", str(tmp_path / "x")])
        == 2
    )
    assert "sinusoid is a regression problem" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["maml", "fomaml", "metasgd", "anil", "reptile"])
def test_the_family_keeps_the_default_memory_layout(method):
    """The conv backbones are built channels-last; the family turns its network back (results/memory_format.md)."""
    learner = build_learner(method, backbone="conv4", ways=5)
    kernels = [p for p in learner.network.parameters() if p.dim() == 4]
    assert kernels and all(k.is_contiguous() for k in kernels)


def test_in_bf16_the_inner_loop_stays_float32_so_the_meta_gradient_stays_float32s(glyphs_dataset, tmp_path):
    """precision="bf16" lowers the query pass at theta' only: the inner loop's rounding errors would compound from step
    to step (with the 3 steps in bfloat16 too, the cosine to float32's meta-gradient was 0.78 here with seeds 0 and 1;
    as it is, 0.9999)."""
    torch.manual_seed(0)
    learner = build_learner("maml", backbone="conv4-small", ways=5, inner_steps=3).train()
    batch = make_sampler(glyphs_dataset, "train", ways=5, shots=1, queries=3, seed=0).sample_batch(2)
    seen = []  # (images, dtype of the first convolution's output) at each forward pass
    learner.embedding[0][0].register_forward_hook(lambda module, args, output: seen.append((len(output), output.dtype)))
    in_float32 = meta_gradient(learner, batch)
    seen.clear()
    with compute_precision(learner, "bf16"):
        assert not learner.uses_vmap(torch.device("cuda"))  # autocast does not reach convolutions inside vmap
        in_bfloat16 = meta_gradient(learner, batch)
    assert set(seen) == {(5, torch.float32), (15, torch.bfloat16)}  # 5 support images, 15 queries per task
    assert torch.nn.functional.cosine_similarity(in_bfloat16, in_float32, dim=0) > 0.99
    vmapped = build_learner("fomaml", backbone="conv4-small", ways=5, task_batching="vmap")
    with pytest.raises(ValueError, match="cannot reach the convolutions of task_batching='vmap'"):
        meta_train(vmapped, glyphs_dataset, steps=1, out=tmp_path / "run", precision="bf16")
    assert not (tmp_path / "run").exists()
    reptile = build_learner("reptile", backbone="conv4-small", ways=5)  # its only network passes are its inner loop
    with pytest.raises(ValueError, match="would lower only Reptile's inner loop"):
        meta_train(reptile, glyphs_dataset, steps=1, out=tmp_path / "run", precision="bf16")
    assert not (tmp_path / "run").exists()

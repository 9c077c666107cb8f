"""The coordinatewise LSTM optimizer (Andrychowicz et al. 2016), its optimizees and the tuned baselines (7.7)."""

import math

import pytest
import torch

from fewshot_lab.learned_optimizer import (
    HELD_OUT_SEED,
    Baseline,
    CharacterMLP,
    LSTMOptimizer,
    Quadratics,
    preprocess,
    run_optimizer,
    train_optimizer,
    tune_learning_rate,
    unroll,
)


def test_preprocessing_matches_the_paper_on_known_values():
    e = math.e
    gradient = torch.tensor([1.0, -(e**-5), e**3, e**-20, -(e**-20), 0.0, e**-10])
    expected = torch.tensor(
        [
            [0.0, 1.0],
            [-0.5, -1.0],
            [0.3, 1.0],  # |g| >= e^-10: (log|g| / 10, sign g)
            [-1.0, e**-10],
            [-1.0, -(e**-10)],
            [-1.0, 0.0],  # below: (-1, e^10 g)
            [-1.0, 1.0],
        ]
    )  # at the threshold both branches agree
    torch.testing.assert_close(preprocess(gradient.double()), expected.double())
    assert preprocess(torch.randn(3, 4)).shape == (3, 4, 2)


def test_the_optimizer_is_coordinatewise_and_starts_from_zero_state():
    torch.manual_seed(0)
    optimizer = LSTMOptimizer()
    assert [cell.hidden_size for cell in optimizer.cells] == [20, 20]
    state = optimizer.initial_state(7)
    assert all(torch.equal(h, torch.zeros(7, 20)) and torch.equal(c, torch.zeros(7, 20)) for h, c in state)
    gradient = torch.randn(7)
    update, _ = optimizer(gradient, state)
    assert update.shape == (7,)
    # the same weights for every coordinate: a coordinate's update depends on its own gradient only
    alone, _ = optimizer(gradient[2:3], optimizer.initial_state(1))
    torch.testing.assert_close(alone, update[2:3])


def test_gradients_flow_through_the_whole_unroll():
    """With d grad / d phi = 0 (the paper's approximation), theta_T = theta_0 + sum_t 0.1 (W h_t + b), so
    d f(theta_T) / d b = 0.1 T sum_i df/dtheta_i: every one of the T steps must contribute."""
    torch.manual_seed(0)
    optimizer, optimizee, steps = LSTMOptimizer(), Quadratics(instances=4, seed=1), 7
    start = optimizee.initial_parameters().requires_grad_()
    losses, parameters, _ = unroll(optimizer, optimizee, start, optimizer.initial_state(start.numel()), 0, steps)
    assert losses.shape == (steps, 4)
    final = losses[-1].sum()
    final.backward()
    end = parameters.detach().requires_grad_()
    (gradient_at_end,) = torch.autograd.grad(optimizee.loss(end, steps).sum(), end)  # [4, 10], df/dtheta at theta_T
    torch.testing.assert_close(optimizer.output.bias.grad, 0.1 * steps * gradient_at_end.sum().reshape(1))
    torch.testing.assert_close(start.grad, gradient_at_end)  # back to theta_0 through all T additions
    for name, weight in optimizer.named_parameters():
        assert weight.grad is not None and torch.isfinite(weight.grad).all() and weight.grad.abs().sum() > 0, name


def test_meta_training_truncates_and_lowers_the_loss_on_held_out_quadratics():
    torch.manual_seed(0)
    optimizer = LSTMOptimizer()
    held_out = Quadratics(instances=64, seed=HELD_OUT_SEED)
    before = run_optimizer(optimizer, held_out, 40)[1:].mean()
    meta_losses = train_optimizer(
        optimizer, lambda seed: Quadratics(instances=32, seed=seed), optimizees=12, horizon=40, unroll_steps=20, lr=3e-3
    )
    assert len(meta_losses) == 12 * 2 and all(math.isfinite(loss) for loss in meta_losses)
    after = run_optimizer(optimizer, held_out, 40)[1:].mean()
    assert after < 0.5 * before
    with pytest.raises(ValueError, match="HELD_OUT_SEED"):
        train_optimizer(optimizer, Quadratics, optimizees=2, first_seed=HELD_OUT_SEED - 1)
    with pytest.raises(ValueError, match="multiple of unroll_steps"):
        train_optimizer(optimizer, Quadratics, optimizees=1, horizon=30, unroll_steps=20)


def test_state_resets_between_optimizees():
    torch.manual_seed(0)
    optimizer = LSTMOptimizer()
    second = Quadratics(instances=8, seed=2)
    fresh = run_optimizer(optimizer, second, 15)
    run_optimizer(optimizer, Quadratics(instances=8, seed=1), 15)  # a run before must leave nothing behind
    assert torch.equal(run_optimizer(optimizer, second, 15), fresh)
    assert fresh.shape == (16, 8)


def test_baselines_are_torch_optimisers_and_are_tuned_on_training_optimizees_only():
    optimizee = Quadratics(instances=3, seed=0)
    start = optimizee.initial_parameters().requires_grad_()
    (gradient,) = torch.autograd.grad(optimizee.loss(start, 0).sum(), start)
    curve = run_optimizer(Baseline("SGD", lr=0.01), optimizee, 1)
    torch.testing.assert_close(curve[1], optimizee.loss(start.detach() - 0.01 * gradient, 1))
    best, scores = tune_learning_rate(
        "Adam",
        lambda seed: Quadratics(instances=16, seed=seed),
        steps=30,
        seeds=[0, 1],
        learning_rates=[1e-4, 0.1, 1e4],
    )
    assert best == 0.1 and scores[1e-4] > scores[0.1]
    with pytest.raises(ValueError, match="training optimizees only"):
        tune_learning_rate("Adam", Quadratics, seeds=[HELD_OUT_SEED])
    with pytest.raises(ValueError, match="unknown baseline 'nag'"):
        Baseline("nag", 0.1)


def test_character_mlp_optimizee(glyphs_dataset):
    problem = CharacterMLP(glyphs_dataset, "test", classes=10, seed=HELD_OUT_SEED)
    assert problem.images.shape[1] == 784 and set(problem.labels.tolist()) == set(range(10))
    start = problem.initial_parameters()
    assert start.shape == (1, 784 * 20 + 20 + 20 * 10 + 10)
    assert torch.equal(problem.loss(start, 3), problem.loss(start, 3))  # the minibatch of a step is fixed
    assert not torch.equal(problem.loss(start, 3), problem.loss(start, 4))
    assert problem.loss(start, 0).item() == pytest.approx(math.log(10), abs=0.3)
    wider = CharacterMLP(glyphs_dataset, "train", hidden=(20, 20), activation="relu", seed=0)
    assert wider.initial_parameters().shape == (1, 784 * 20 + 20 + 20 * 20 + 20 + 20 * 10 + 10)
    curve = run_optimizer(LSTMOptimizer(), problem, 3)
    assert curve.shape == (4, 1) and torch.isfinite(curve).all()
    with pytest.raises(ValueError, match="asked for 500 classes"):
        CharacterMLP(glyphs_dataset, "val", classes=500)

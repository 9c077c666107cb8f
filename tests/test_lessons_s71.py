"""Section 7.1's hypothesis space: the waves consistent with the support points, and generic curves through them."""

import numpy as np
import pytest
import torch

from fewshot_lab.data import load_dataset
from fewshot_lab.lessons.s71 import consistent_waves, plot_hypothesis_space, smooth_curves_through

pytestmark = pytest.mark.usefixtures("close_figures")


def test_consistent_waves_hold_the_true_wave_and_shrink_with_more_points():
    family = load_dataset("sinusoid")
    task = family.sampler("test", shots=5, queries=0, seed=0).sample()
    two = consistent_waves(family, task.support_x[:2], task.support_y[:2], tolerance=0.1)
    five = consistent_waves(family, task.support_x, task.support_y, tolerance=0.1)
    assert 0 < len(five) < len(two)
    distance = (five - torch.stack([task.amplitude, task.phase])).norm(dim=1).min()
    assert distance < 0.1
    figure = plot_hypothesis_space(family, family.sampler("test", shots=2, queries=0, seed=3).sample())
    assert len(figure.axes[0].lines) > 10 and len(figure.axes[1].lines) > 1


def test_the_generic_curves_pass_through_the_support_points_and_differ_elsewhere():
    support_x, support_y = torch.tensor([[-3.0], [0.5], [2.0]]), torch.tensor([[1.0], [-2.0], [0.5]])
    x = torch.cat([support_x, torch.linspace(-5, 5, 50)[:, None]])  # [53, 1]
    curves = smooth_curves_through(support_x, support_y, x, 6, np.random.default_rng(0))  # [6, 53]
    assert curves.shape == (6, 53)
    assert torch.allclose(curves[:, :3], support_y.flatten().expand(6, 3), atol=1e-3)
    assert curves[:, 3:].std(0).mean() > 0.5  # away from the support points they disagree

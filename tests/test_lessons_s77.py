"""Section 7.7's figures: loss curves of optimisers, the LSTM optimizer's meta-training and its update rule."""

import pytest
import torch

from fewshot_lab.learned_optimizer import Baseline, LSTMOptimizer, Quadratics, run_optimizer
from fewshot_lab.lessons.s77 import plot_loss_curves, plot_meta_training, plot_update_rule

pytestmark = pytest.mark.usefixtures("close_figures")


def test_loss_curves_meta_training_and_update_rule_figures():
    torch.manual_seed(0)
    optimizer = LSTMOptimizer()
    curves = {
        "LSTM optimizer": run_optimizer(optimizer, Quadratics(instances=8), 10),
        "Adam": run_optimizer(Baseline("Adam", 0.1), Quadratics(instances=8), 10),
    }
    figure = plot_loss_curves(curves, title="test", trained_horizon=5)
    assert len(figure.axes[0].lines) == 3
    assert plot_meta_training([1.0] * 20, truncations_per_optimizee=2, window=3).axes
    assert plot_update_rule(optimizer).axes

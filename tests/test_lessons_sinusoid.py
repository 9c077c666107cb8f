"""The sine-wave explorer of notebooks 7.2 and 7.8."""

import torch

from fewshot_lab import build_learner, load_dataset
from fewshot_lab.lessons.sinusoid import SinusoidExplorer


def test_moving_k_changes_the_points_on_the_same_wave_not_the_wave():
    learner = build_learner("maml", backbone="mlp", in_channels=1, image_size=1, ways=1, inner_lr=0.01)
    explorer = SinusoidExplorer({"MAML": learner}, load_dataset("sinusoid"), max_steps=2)
    explorer.wave.value = 3
    waves = {}
    for shots in (2, 5, 20):
        explorer.shots.value = shots
        waves[shots] = explorer.task()
        assert waves[shots].support_x.shape == (shots, 1)
    assert all(torch.equal(waves[k].amplitude, waves[20].amplitude) for k in (2, 5))
    assert torch.equal(waves[5].support_x, waves[20].support_x[:5])  # the first K points of one wave
    explorer.wave.value = 4
    assert not torch.equal(explorer.task().amplitude, waves[20].amplitude)

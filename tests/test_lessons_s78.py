"""Section 7.8's measurement of what first-order MAML drops: the cosine between the two meta-gradients."""

import pytest
import torch

from fewshot_lab import build_learner, load_dataset
from fewshot_lab.lessons.s78 import meta_gradient_agreement


@pytest.fixture
def sine_maml():
    torch.manual_seed(0)
    return build_learner("maml", backbone="mlp", in_channels=1, image_size=1, ways=1, inner_lr=0.01)


def test_the_meta_gradients_agree_exactly_without_an_inner_step_and_part_as_the_step_grows(sine_maml):
    sampler = load_dataset("sinusoid").sampler("train", shots=5, queries=5, seed=0)
    cosines = meta_gradient_agreement(sine_maml, sampler, inner_lrs=(0.0, 0.001, 0.5), batches=3)
    assert set(cosines) == {0.0, 0.001, 0.5} and all(len(values) == 3 for values in cosines.values())
    assert cosines[0.0] == pytest.approx([1.0] * 3, abs=1e-5)  # alpha = 0: the dropped term -alpha H g is zero
    assert min(cosines[0.001]) > 0.99  # a small step: the first-order gradient is nearly MAML's
    assert max(cosines[0.5]) < min(cosines[0.001])  # a large step: the Hessian term turns MAML's gradient away
    counting = CountingSampler(sampler)  # every step size is measured on the same meta-batches, drawn once
    by_alpha = meta_gradient_agreement(sine_maml, counting, inner_lrs=(0.1, 0.2), batches=2)
    assert counting.batches == 2 and all(len(values) == 2 for values in by_alpha.values())


class CountingSampler:
    """A task sampler that counts the meta-batches drawn from it."""

    def __init__(self, sampler):
        self.sampler, self.batches = sampler, 0

    def sample_batch(self, tasks: int):
        self.batches += 1
        return self.sampler.sample_batch(tasks)


def test_the_learner_itself_keeps_its_step_size_and_order(sine_maml):
    before = {name: weight.clone() for name, weight in sine_maml.state_dict().items()}
    meta_gradient_agreement(sine_maml, load_dataset("sinusoid").sampler("train", seed=0), inner_lrs=(0.3,), batches=1)
    assert sine_maml.inner_lr == 0.01 and sine_maml.first_order is False
    assert all(torch.equal(before[name], weight) for name, weight in sine_maml.state_dict().items())

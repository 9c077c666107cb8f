"""On a device: learners train, are saved and evaluate there, and compute what they compute on the CPU.

Marked `device`. They run on CUDA, and are skipped where there is none; benchmarks/device_check.sh runs them.
FEWSHOT_LAB_TEST_DEVICE=cpu runs them on the CPU instead: a dry run of the same code paths (the comparisons with
the CPU are then exact, so only a CUDA run tests the tolerances).
"""

import os

import pytest
import torch

from fewshot_lab.data.sequences import EpisodeSequences
from fewshot_lab.data.tasks import MetaBatches
from fewshot_lab.engine import meta_train
from fewshot_lab.evaluation import evaluate
from fewshot_lab.methods import build_learner
from fewshot_lab.pretrained import load_pretrained
from fewshot_lab.saved import load

pytestmark = pytest.mark.device

DEVICE = os.environ.get("FEWSHOT_LAB_TEST_DEVICE", "cuda")
# float32 on the device against float32 on the CPU, TF32 off: kernels that sum in another order should move the
# loss by about 1e-6 of itself and the meta-gradient by about 1e-5 of its norm (estimates, not yet measured on a
# GPU: the first run of benchmarks/device_check.sh checks them); another computation moves them by whole percents
LOSS_RTOL, GRADIENT_RTOL = 1e-4, 1e-3
LEARNERS = {
    "protonet": dict(method="protonet"),
    "maml": dict(method="maml", ways=5, inner_steps=2),  # second order through batch norm: tasks looped over
    "fomaml": dict(method="fomaml", ways=5, inner_steps=2),  # on CUDA, tasks batched with vmap; on the CPU, looped
    "mann": dict(method="mann", ways=5, instances=4, encoder="conv4", add_vectors=True, write_to_last=True),
}


@pytest.fixture
def device():
    if DEVICE == "cuda" and not torch.cuda.is_available():
        pytest.skip(
            "no CUDA device here: benchmarks/device_check.sh runs these on one "
            "(FEWSHOT_LAB_TEST_DEVICE=cpu runs them on the CPU)"
        )
    flags = (torch.backends.cudnn.conv, torch.backends.cudnn.rnn, torch.backends.cuda.matmul)
    before = [each.fp32_precision for each in flags]
    for each in flags:
        each.fp32_precision = "ieee"  # TF32 would keep 10 bits of the mantissa in convolutions and LSTMs
    yield torch.device(DEVICE)
    for each, value in zip(flags, before):
        each.fp32_precision = value


def learner_pair(options: dict, device: torch.device):
    """Two learners with the same initial weights: one on the CPU, one on `device`."""
    torch.manual_seed(0)
    on_cpu = build_learner(backbone="conv4", **options).train()
    torch.manual_seed(0)
    return on_cpu, build_learner(backbone="conv4", **options).to(device).train()


@pytest.mark.parametrize("name", LEARNERS)
def test_a_training_step_on_the_device_gives_the_cpu_loss_and_gradient(name, device, glyphs_dataset):
    on_cpu, on_device = learner_pair(LEARNERS[name], device)
    batch = on_cpu.training_stream(glyphs_dataset, ways=5, shots=1, queries=5, meta_batch=2, seed=0).sample()
    losses, gradients = [], []
    for learner, tasks in ((on_cpu, batch), (on_device, batch.to(device))):
        learner.zero_grad()
        loss = learner.training_loss(tasks)[0]
        loss.backward()
        assert loss.device.type == device.type
        assert all(
            parameter.grad.device.type == device.type
            for parameter in learner.parameters()
            if parameter.grad is not None
        )
        losses.append(loss.item())
        gradients.append(
            torch.cat(
                [parameter.grad.flatten().cpu() for parameter in learner.parameters() if parameter.grad is not None]
            )
        )
    assert losses[1] == pytest.approx(losses[0], rel=LOSS_RTOL)
    assert gradients[1].shape == gradients[0].shape
    assert torch.linalg.vector_norm(gradients[1] - gradients[0]) <= GRADIENT_RTOL * torch.linalg.vector_norm(
        gradients[0]
    )


def test_a_run_trained_on_the_device_is_saved_loads_anywhere_and_scores_the_same(device, glyphs_dataset, tmp_path):
    torch.manual_seed(0)
    learner = build_learner("protonet", backbone="conv4")
    meta_train(
        learner,
        glyphs_dataset,
        steps=4,
        val_every=2,
        val_episodes=2,
        out=tmp_path / "run",
        device=device,
        progress=False,
    )
    assert next(learner.parameters()).device.type == device.type
    scores = {}
    for place in ("cpu", device):
        saved = load(tmp_path / "run", device=place).learner
        assert next(saved.parameters()).device.type == torch.device(place).type
        scores[torch.device(place).type] = evaluate(saved, glyphs_dataset, episodes=10, split="val").values
    queries = 5 * 15  # one query answered the other way, by a near tie, moves an episode by 1/75
    assert abs(scores[device.type] - scores["cpu"]).max() <= 1 / queries + 1e-9


def test_the_shipped_mann_moved_to_the_device_answers_as_on_the_cpu(device, glyphs_dataset):
    batch = MetaBatches(EpisodeSequences(glyphs_dataset, "val", ways=5, instances=10, seed=0), 4).sample()
    scores = []
    for place in ("cpu", device):
        learner = load_pretrained("mann_omniglot").to(place)
        with torch.no_grad():  # from the images: its frozen encoder codes them on `place` too
            scores.append(learner.unroll(batch.images.to(place), batch.labels.to(place))[0])
    assert scores[1].device.type == device.type
    torch.testing.assert_close(scores[1].cpu(), scores[0], rtol=LOSS_RTOL, atol=1e-5)

"""MAML meta-training speed: fewshot_lab's torch.func MAML against the same algorithm written with `higher`.

    python benchmarks/maml_vs_higher.py                 # prints a markdown report, last line speedup_vs_higher: X

Same model (Conv-4 + a 5-way linear head), same initial weights, same meta-batch of glyphs tasks (5-way
1-shot, 15 queries, 16 tasks), same settings (1 and 5 inner steps, second and first order, inner lr 0.4,
batch norm in train mode as in the papers). For each setting both implementations compute the
meta-gradient of one meta-batch in float32; the script checks that the two agree, then times several
meta-iterations of each (forward and backward, interleaved so that both see the same machine load) and measures
the peak memory each adds. Ours runs in the precision `fewshot-lab train --method maml` chooses on this machine for
that many inner steps (fewshot_lab.methods.recipes.choose_precision: bfloat16 for the recipe's 1 inner step on a
CPU with bfloat16 units, else float32); where the CPU has the units, the table gives the cosine between each
setting's bfloat16 and float32 meta-gradients. Then it checks what the speed costs in accuracy: both
implementations meta-train the same MAML on the same meta-batches (ours in the precision of the recipe's setting,
higher in float32), higher for a fixed budget of meta-iterations, ours for as many and for as many as it makes in
the same time, and the same adaptation scores each on the same val tasks; it does so on several streams of
meta-batches, so that the difference from higher comes with a t interval over training runs, not only over val tasks.
`higher` (facebookresearch/higher, the library MAML code used before torch.func) is installed by this script
into a folder of its own with pip; the package never depends on it.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from fewshot_lab.backbones import compute_precision
from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.evaluation import evaluate
from fewshot_lab.methods import build_learner
from fewshot_lab.methods.recipes import bf16_units, choose_precision
from fewshot_lab.paths import data_dir

SETTINGS = [(1, False), (1, True), (5, False), (5, True)]  # (inner steps, first order)


def import_higher():
    target = data_dir() / "benchmarks" / "higher-0.2.1"
    if not (target / "higher").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), "higher==0.2.1"],
            check=True,
        )
    sys.path.insert(0, str(target))
    import higher

    return higher


def higher_meta_gradient(higher, network: nn.Module, batch, inner_steps: int, inner_lr: float, first_order: bool):
    """MAML as higher's examples write it: one differentiable inner loop per task, the query loss backpropagated
    task by task. First order: the inner loop is not tracked, and the gradient at the adapted weights is
    added to the initial weights' gradient."""
    inner_optimizer = torch.optim.SGD(network.parameters(), lr=inner_lr)
    tasks = len(batch.support_y)
    for index in range(tasks):
        task = batch.select(index)
        with higher.innerloop_ctx(
            network, inner_optimizer, copy_initial_weights=False, track_higher_grads=not first_order
        ) as (fast_network, differentiable_optimizer):
            for _ in range(inner_steps):
                differentiable_optimizer.step(nn.functional.cross_entropy(fast_network(task.support_x), task.support_y))
            query_loss = nn.functional.cross_entropy(fast_network(task.query_x), task.query_y) / tasks
            if first_order:
                gradients = torch.autograd.grad(query_loss, list(fast_network.parameters()))
                for weight, gradient in zip(network.parameters(), gradients):
                    weight.grad = gradient if weight.grad is None else weight.grad + gradient
            else:
                query_loss.backward()


def ours_meta_gradient(learner, batch, precision: str = "fp32"):
    with compute_precision(learner, precision):
        loss, _ = learner.training_loss(batch)
        loss.backward()


def precision_for(inner_steps: int, device: torch.device, dataset) -> str:
    """The precision `fewshot-lab train --method maml --inner-steps N` chooses on this machine."""
    return choose_precision("maml", device, dataset, {"inner_steps": inner_steps})[0]


def ours_support_passes(learner, batch):
    """The support forward and backward of every task's first inner step, kept in the graph and in float32 as
    meta-training keeps them: the part of a meta-iteration that batching the first inner step across tasks (while every
    task still has the same weights) could share."""
    for index in range(len(batch.support_y)):
        task = batch.select(index)
        learner.adapt(task.support_x, task.support_y, steps=1)


def peak_memory_mib(
    inner_steps: int, first_order: bool, implementation: str, precision: str, meta_batch: int, device: str
) -> float:
    """Peak memory one meta-iteration adds, measured in a fresh process so that neither implementation inherits
    the other's freed memory: on CUDA the allocator's peak, on Linux the rise of the resident set's high-water
    mark (VmHWM in /proc/self/status) over the resident memory just before the meta-iteration."""
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--memory-of",
            f"{inner_steps},{int(first_order)},{implementation},{precision}",
            "--meta-batch",
            str(meta_batch),
            "--device",
            device,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(child.stdout.strip().splitlines()[-1])


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _measure_memory(spec: str, batch, device: torch.device, higher) -> float:
    inner_steps, first_order, implementation, precision = spec.split(",")
    inner_steps, first_order = int(inner_steps), bool(int(first_order))
    learner, network = _models(inner_steps, first_order, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
    else:
        start = _status_kib("VmRSS")
    if implementation == "ours":
        ours_meta_gradient(learner, batch, precision)
    else:
        higher_meta_gradient(higher, network, batch, inner_steps, 0.4, first_order)
    if device.type == "cuda":
        return (torch.cuda.max_memory_allocated() - start) / 2**20
    return (_status_kib("VmHWM") - start) / 1024


def _models(inner_steps: int, first_order: bool, device: torch.device):
    torch.manual_seed(0)
    learner = (
        build_learner(
            "fomaml" if first_order else "maml", backbone="conv4", ways=5, inner_steps=inner_steps, inner_lr=0.4
        )
        .to(device)
        .train()
    )
    return learner, copy.deepcopy(learner.network)  # the same initial weights for higher


def accuracy_after_budget(
    higher,
    dataset,
    device: torch.device,
    precision: str,
    iterations: int,
    ours_in_same_time: int,
    episodes: int,
    stream: int,
):
    """Meta-train MAML (1 inner step of 0.4, second order) both ways on the same meta-batches of 4 tasks (the stream
    seeded `stream`), from the same initial weights, each with its own Adam (lr 1e-3): higher in float32 for
    `iterations` meta-iterations, ours in `precision` for as many and then on to `ours_in_same_time` (the
    meta-iterations it makes in higher's training time); then score each with fewshot_lab's adaptation on the same
    `episodes` val tasks. Returns ({"higher", "ours, same iterations", "ours, same time"} -> Evaluation, the largest
    difference between the weights of higher and of ours after the same iterations)."""
    learner, network = _models(1, False, device)
    ours_optimizer, higher_optimizer = torch.optim.Adam(learner.parameters()), torch.optim.Adam(network.parameters())
    sampler = make_sampler(dataset, "train", ways=5, shots=1, queries=15, seed=stream)
    for iteration in range(max(iterations, ours_in_same_time)):
        batch = sampler.sample_batch(4).to(device)
        ours_optimizer.zero_grad(set_to_none=True)
        ours_meta_gradient(learner, batch, precision)
        ours_optimizer.step()
        if iteration < iterations:
            higher_optimizer.zero_grad(set_to_none=True)
            higher_meta_gradient(higher, network, batch, 1, 0.4, False)
            higher_optimizer.step()
        if iteration + 1 == iterations:
            same_iterations = copy.deepcopy(learner)
        if iteration + 1 == ours_in_same_time:  # before or after the same iterations, as ours is faster or slower
            same_time = copy.deepcopy(learner)
    trained_with_higher, _ = _models(1, False, device)
    trained_with_higher.network.load_state_dict(network.state_dict())
    weight_difference = max(  # the meta-learned weights (batch norm's running statistics are not used: transductive)
        (ours - theirs).abs().max().item()
        for ours, theirs in zip(same_iterations.network.parameters(), network.parameters())
    )
    models = {"higher": trained_with_higher, "ours, same iterations": same_iterations, "ours, same time": same_time}
    scores = {
        name: evaluate(model, dataset, ways=5, shots=1, queries=15, episodes=episodes, split="val", device=device)
        for name, model in models.items()
    }
    return scores, weight_difference


T_975 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}  # t, by degrees of freedom


def check_counts(parser: argparse.ArgumentParser, arguments, flags: tuple[str, ...]):
    """Refuse, in the flag's words, a count below 1, and more streams of meta-batches than T_975 has intervals for."""
    for flag in flags:
        if getattr(arguments, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(arguments, flag)}")
    if "streams" in flags and arguments.streams > max(T_975) + 1:
        parser.error(f"--streams must be at most {max(T_975) + 1}, got {arguments.streams}")


def mean_and_t_interval(values: list[float]) -> str:
    """'mean ± half-width' of the 95% t interval of the mean of a few values (training runs, one per stream)."""
    if len(values) < 2:
        return f"{statistics.mean(values):+.2f}"
    half_width = T_975[len(values) - 1] * statistics.stdev(values) / len(values) ** 0.5
    return f"{statistics.mean(values):+.2f} ± {half_width:.2f}"


def gradients(module: nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in module.parameters()])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--iterations", type=int, default=3, help="timed meta-iterations per setting and implementation"
    )
    parser.add_argument("--meta-batch", type=int, default=16)
    parser.add_argument("--budget", type=int, default=100, help="meta-iterations (of 4 tasks) of the accuracy check")
    parser.add_argument("--episodes", type=int, default=300, help="val tasks scoring the accuracy check")
    parser.add_argument("--streams", type=int, default=3, help="streams of meta-batches the accuracy check trains on")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--memory-of", default=None, help=argparse.SUPPRESS)  # internal: one measurement, in a child
    arguments = parser.parse_args()
    check_counts(parser, arguments, ("iterations", "meta_batch", "budget", "episodes", "streams"))
    device = torch.device(arguments.device)
    higher = import_higher()
    dataset = load_dataset("glyphs")
    batch = make_sampler(dataset, "train", ways=5, shots=1, queries=15, seed=0).sample_batch(arguments.meta_batch)
    batch = batch.to(device)
    if arguments.memory_of:
        print(_measure_memory(arguments.memory_of, batch, device, higher))
        return
    print("# MAML meta-training: fewshot_lab (torch.func) against higher\n")
    print(
        f"Command: `python benchmarks/maml_vs_higher.py --iterations {arguments.iterations} --budget "
        f"{arguments.budget} --episodes {arguments.episodes} --streams {arguments.streams}`  "
    )
    print(
        f"Hardware: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads, {device.type}"
        f"{' (' + torch.cuda.get_device_name() + ')' if device.type == 'cuda' else ''}  "
    )
    units = bf16_units() if device.type == "cpu" else []
    print(
        f"Problem: Conv-4 (64 channels) + 5-way head, glyphs 5-way 1-shot, 15 queries, meta-batch "
        f"{arguments.meta_batch}, inner lr 0.4, batch statistics in batch norm; {arguments.iterations} timed "
        f"meta-iterations each (forward + meta-gradient), after one untimed. bfloat16 units: "
        f"{', '.join(units) or 'none'}.\n"
    )
    print(
        "| inner steps | order | ours precision | ours s/it | higher s/it | ours it/s | higher it/s | speedup | "
        "ours peak MiB | higher peak MiB | max gradient difference in float32 | cosine of bfloat16 to float32 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    speedups, support_shares = [], []
    for inner_steps, first_order in SETTINGS:
        precision = precision_for(inner_steps, device, dataset)
        learner, network = _models(inner_steps, first_order, device)
        learner.zero_grad()
        ours_meta_gradient(learner, batch)
        network.zero_grad()
        higher_meta_gradient(higher, network, batch, inner_steps, 0.4, first_order)
        difference = (gradients(learner) - gradients(network)).abs().max().item()
        scale = gradients(network).abs().max().item()
        if difference > 1e-3 * scale:
            raise SystemExit(f"the meta-gradients differ by {difference:.3g} (largest component {scale:.3g})")
        cosine = "—"
        if units:  # how far bfloat16 moves this setting's meta-gradient, whichever precision it runs in
            in_float32 = gradients(learner).clone()
            learner.zero_grad()
            ours_meta_gradient(learner, batch, "bf16")
            cosine = f"{nn.functional.cosine_similarity(gradients(learner), in_float32, dim=0).item():.3f}"
        times = {"ours": [], "higher": [], "support": []}
        for _ in range(arguments.iterations):
            for name in ("ours", "higher", "support"):
                learner.zero_grad(set_to_none=True)
                network.zero_grad(set_to_none=True)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                if name == "ours":
                    ours_meta_gradient(learner, batch, precision)
                elif name == "support":
                    ours_support_passes(learner, batch)
                else:
                    higher_meta_gradient(higher, network, batch, inner_steps, 0.4, first_order)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                times[name].append(time.perf_counter() - start)
        peaks = {
            name: peak_memory_mib(
                inner_steps,
                first_order,
                name,
                precision if name == "ours" else "fp32",
                arguments.meta_batch,
                arguments.device,
            )
            for name in ("ours", "higher")
        }
        ours, theirs = min(times["ours"]), min(times["higher"])
        speedups.append(theirs / ours)
        support_shares.append(min(times["support"]) / ours)
        print(
            f"| {inner_steps} | {'first' if first_order else 'second'} | {precision} | {ours:.2f} | {theirs:.2f} | "
            f"{1 / ours:.2f} | {1 / theirs:.2f} | {theirs / ours:.2f} | {peaks['ours']:.0f} | {peaks['higher']:.0f} | "
            f"{difference:.1e} | {cosine} |",
            flush=True,
        )
    geometric_mean = math.exp(sum(math.log(s) for s in speedups) / len(speedups))
    print(
        "\nTimes are the fastest of the timed meta-iterations. Peak memory: what one meta-iteration adds to a "
        "fresh process's resident memory (CPU) or to the allocator's (CUDA).\n"
    )
    shares = ", ".join(
        f"{share:.0%} ({steps} step{'s' if steps > 1 else ''}, {'first' if first else 'second'} order)"
        for share, (steps, first) in zip(support_shares, SETTINGS)
    )
    print(
        f"The support passes of the first inner step (forward and backward, every task) take {shares} of our "
        f"meta-iteration: the most that batching them across tasks could save.\n"
    )
    recipe_precision = precision_for(1, device, dataset)
    ours_in_same_time = max(1, round(arguments.budget * speedups[0]))
    print(
        f"Accuracy after a fixed budget (1 inner step, second order, meta-batches of 4 tasks, Adam lr 1e-3, the same "
        f"initial weights and meta-batches; ours in {recipe_precision}, higher in fp32): higher trained for "
        f"{arguments.budget} meta-iterations; ours for as many, and for the {ours_in_same_time} it makes in the same "
        f"time at its measured speed ({speedups[0]:.2f} times higher's, above). Each model adapted by fewshot_lab "
        f"on the same {arguments.episodes} val tasks of glyphs (5-way 1-shot, 15 queries); one training of each on "
        f"each of {arguments.streams} streams of meta-batches:\n"
    )
    names = ("higher", "ours, same iterations", "ours, same time")
    print(f"| stream | {' | '.join(names)} | largest weight difference, same iterations |")
    print("| --- | --- | --- | --- | --- |")
    accuracies = {name: [] for name in names}
    for stream in range(1, arguments.streams + 1):
        scores, weight_difference = accuracy_after_budget(
            higher, dataset, device, recipe_precision, arguments.budget, ours_in_same_time, arguments.episodes, stream
        )
        for name in names:
            accuracies[name].append(100 * scores[name].mean)
        cells = [f"{100 * scores[name].mean:.2f} ± {100 * scores[name].ci95:.2f}%" for name in names]
        print(f"| {stream} | {' | '.join(cells)} | {weight_difference:.1e} |", flush=True)
    print(
        "\n| trained with | meta-iterations | mean val accuracy | difference from higher, paired by stream "
        "(95% t interval over the streams) |\n| --- | --- | --- | --- |"
    )
    for name in names:
        differences = [ours - theirs for ours, theirs in zip(accuracies[name], accuracies["higher"])]
        print(
            f"| {name} | {ours_in_same_time if name == 'ours, same time' else arguments.budget} | "
            f"{statistics.mean(accuracies[name]):.2f}% | {mean_and_t_interval(differences)} |"
        )
    print()
    print(
        f"At MAML's recipe setting (1 inner step, second order: the setting of the accuracy check) ours is "
        f"{speedups[0]:.2f} times as fast as higher; over the four settings, geometrically:\n"
    )
    print(f"speedup_vs_higher: {geometric_mean:.2f}")


if __name__ == "__main__":
    main()

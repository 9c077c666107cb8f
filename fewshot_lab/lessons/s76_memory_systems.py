"""Figures of section 7.6 for the two systems the meta-learning MANN came from: the Neural Turing Machine on its copy
task (Graves et al. 2014) and the end-to-end memory network on stories (Sukhbaatar et al. 2015).

    trace = copy_trace(ntm, task)                      # one copy sequence through the NTM, step by step
    figure = plot_copy_weightings(trace)               # inputs, outputs, and the heads sweeping the memory
    results = {"NTM": errors_by_length(ntm, copy, range(1, 21)), "LSTM": errors_by_length(lstm, copy, range(1, 21))}
    figure = plot_bit_errors_by_length(results, trained=10)
    figure = plot_story_attention(memnet, stories, task, question=0)   # where each hop looks in the story
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from fewshot_lab.data.copy_task import CopyTask, presentation, recall_inputs
from fewshot_lab.data.stories import NO_FACT, StoryTask
from fewshot_lab.evaluation import evaluate, evaluation_mode


@dataclass
class CopyTrace:
    """One copy sequence through an NTM: the input steps, then the recall steps."""

    inputs: torch.Tensor  # [steps, bits + 1], steps = 2 length + 1
    targets: torch.Tensor  # [length, bits]
    outputs: torch.Tensor  # [steps, bits], the probability of each bit
    read_weights: torch.Tensor  # [steps, heads, slots], w^r_t
    write_weights: torch.Tensor  # [steps, heads, slots], w^w_t


def copy_trace(learner, task: CopyTask) -> CopyTrace:
    """Run a NeuralTuringMachine over one copy task and record every step."""
    inputs = torch.cat([presentation(task.support_x), recall_inputs(task.query_x)])  # [steps, bits + 1]
    with evaluation_mode(learner) as device, torch.no_grad():
        scores, _, trace = learner.unroll(inputs[None].to(device), record=True)
    return CopyTrace(
        inputs,
        task.query_y,
        torch.sigmoid(scores[0]).cpu(),
        torch.stack([state.read_weights[0] for state in trace]).cpu(),
        torch.stack([state.write_weights[0] for state in trace]).cpu(),
    )


def _used_slots(weights: torch.Tensor, threshold: float = 0.05) -> slice:
    """The smallest run of slots holding every weight above `threshold`, [steps, slots] summed over heads."""
    used = np.flatnonzero((weights > threshold).any(0).numpy())
    return slice(int(used.min()), int(used.max()) + 1) if len(used) else slice(0, weights.shape[-1])


def plot_copy_weightings(trace: CopyTrace):
    """The paper's figure 6: above, the inputs and the outputs over time; below, where the write heads write and
    the read heads read (weights summed over heads, over the memory slots used), one column per step."""
    steps, length = len(trace.inputs), len(trace.targets)
    writes, reads = trace.write_weights.sum(1), trace.read_weights.sum(1)  # [steps, slots]
    slots = _used_slots(torch.cat([writes, reads]))
    figure, axes = plt.subplots(2, 2, figsize=(10, 5.5), sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    panels = (
        (axes[0, 0], trace.inputs.T, "inputs: the sequence, then the delimiter (last row)", "Greys"),
        (axes[0, 1], trace.outputs.T, "outputs: the probability of each bit", "Greys"),
        (axes[1, 0], writes[:, slots].T, "write weights $w^w_t$", "viridis"),
        (axes[1, 1], reads[:, slots].T, "read weights $w^r_t$", "viridis"),
    )
    for ax, image, title, colours in panels:
        ax.imshow(image.numpy(), aspect="auto", cmap=colours, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axvline(length + 0.5, color="tab:red", linewidth=0.8)  # after the delimiter: the recall
    for ax in axes[1]:
        ax.set_xlabel(f"step (red line: the recall starts; {length} vectors, {steps} steps)")
        ax.set_yticks(range(0, slots.stop - slots.start, max(1, (slots.stop - slots.start) // 8)))
        ax.set_yticklabels(ax.get_yticks() + slots.start)
    for ax in axes[0]:
        ax.set_yticks(range(0, trace.inputs.shape[1], 2))
    axes[1, 0].set_ylabel("memory slot")
    axes[0, 0].set_ylabel("bit")
    errors = int(((trace.outputs[-length:] > 0.5) != (trace.targets > 0.5)).sum())
    figure.suptitle(f"One sequence of length {length} through the NTM ({errors} bit errors in the recall)", fontsize=10)
    figure.tight_layout()
    return figure


def errors_by_length(learner, copy, lengths, episodes: int = 100, split: str = "test", seed: int = 0) -> list:
    """Bit errors per sequence at each length (fewshot_lab.evaluation.evaluate with shots = length): one Evaluation
    per length, each on `episodes` seeded sequences."""
    return [evaluate(learner, copy, shots=length, episodes=episodes, split=split, seed=seed) for length in lengths]


def plot_bit_errors_by_length(results: dict, trained: int | None = None, bits: int = 8):
    """Bit errors per sequence against the sequence length, with 95% CIs, for several learners ({name: [Evaluation
    per length]}); `trained`, the longest length seen in training, is shaded, and chance (half of the `bits` bits of
    every vector wrong) dashed."""
    figure, ax = plt.subplots(figsize=(6.5, 3.6))
    for name, evaluations in results.items():
        lengths = np.array([evaluation.shots for evaluation in evaluations])
        means = np.array([evaluation.mean for evaluation in evaluations])
        margins = np.array([evaluation.ci95 for evaluation in evaluations])
        (line,) = ax.plot(lengths, means, marker="o", markersize=3, label=name)
        ax.fill_between(lengths, means - margins, means + margins, color=line.get_color(), alpha=0.2)
    longest = max(evaluation.shots for evaluations in results.values() for evaluation in evaluations)
    ax.plot([0, longest], [0, bits * longest / 2], color="gray", linestyle="--", linewidth=1, label="chance")
    if trained is not None:
        ax.axvspan(0.5, trained + 0.5, color="gray", alpha=0.12, label=f"lengths trained on (1 to {trained})")
    first = next(iter(results.values()))[0]
    ax.set_xlabel("sequence length")
    ax.set_ylabel("bit errors per sequence")
    ax.set_ylim(bottom=0)
    ax.set_title(f"copy task, {first.episodes} {first.split} sequences per length, seed {first.seed}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    return figure


def plot_story_attention(learner, stories, task: StoryTask, question: int = 0):
    """Where each hop of an EndToEndMemoryNetwork looks in the story to answer one question: the attention p over
    the sentences (rows) at every hop (columns); the supporting facts are marked with an arrow."""
    with evaluation_mode(learner) as device, torch.no_grad():
        memory = learner.write(task.support_x[None].to(device), task.support_y[None].to(device))
        scores, attention = learner.read(memory, task.query_x[question][None, None].to(device), record=True)
    weights = attention[:, 0, 0].cpu()  # [hops, sentences]
    facts = set(task.supporting[question].tolist()) - {NO_FACT}
    rows = [("→ " if index in facts else "") + stories.text(words) for index, words in enumerate(task.support_x)]
    figure, ax = plt.subplots(figsize=(4.5 + 0.9 * len(weights), 0.28 * len(rows) + 1.6))
    ax.imshow(weights.T.numpy(), aspect="auto", cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    for (hop, sentence), value in np.ndenumerate(weights.numpy()):
        if value >= 0.05:
            colour = "white" if value > 0.5 else "black"
            ax.text(hop, sentence, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    ax.set_xticks(range(len(weights)))
    ax.set_xticklabels([f"hop {hop + 1}" for hop in range(len(weights))], fontsize=8)
    answer = stories.vocabulary[int(task.query_y[question])]
    predicted = stories.vocabulary[int(scores[0, 0].argmax())]
    ax.set_title(
        f"{stories.text(task.query_x[question])}?\nanswer: {answer}; the network says: {predicted}\n"
        f"(→ marks the supporting facts)",
        fontsize=9,
    )
    figure.tight_layout()
    return figure

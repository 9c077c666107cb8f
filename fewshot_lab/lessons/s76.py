"""Figures and the episode stepper of section 7.6: what a memory-augmented network writes, reads and holds.

trace = memory_trace(mann, episode)       # every step of one episode, recorded
figure = plot_addressing(trace)           # write and read weights over the episode, as heatmaps
figure = plot_memory(trace, step=30)      # the memory matrix at one step, rows labelled by what they hold
figure = plot_presentation_accuracy({"MANN": result, "LSTM": other})
figure = plot_slow_and_fast(history, result)
unseen_label_guess(episode.labels, ways=5)  # the best accuracy on a class's first drawing: 1 / labels not yet used
EpisodeStepper(mann, dataset)             # a slider over the steps of an episode

The two systems the MANN came from: the Neural Turing Machine on its copy task (Graves et al. 2014) and the
end-to-end memory network on stories (Sukhbaatar et al. 2015).

trace = copy_trace(ntm, task)                      # one copy sequence through the NTM, step by step
figure = plot_copy_weightings(trace)               # inputs, outputs, and the heads sweeping the memory
figure = plot_bit_errors_by_length({"NTM": errors_by_length(ntm, copy, range(1, 21)), ...}, trained=10)
figure = plot_story_attention(memnet, stories, task, question=0)   # where each hop looks in the story
CopyStepper(ntm, copy, length=10)                  # a slider over one copy sequence's steps
StoryStepper(memnet, stories)                      # a slider over one story's questions
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from matplotlib.ticker import FuncFormatter

from fewshot_lab.data.copy_task import CopyTask, presentation, recall_inputs
from fewshot_lab.data.sequences import EpisodeSequences, SequenceEpisode, presentations
from fewshot_lab.data.stories import NO_FACT, StoryTask
from fewshot_lab.evaluation import evaluate, evaluation_mode
from fewshot_lab.lessons.drawing import figure_png

# Santoro et al. 2016, 5 classes, accuracy % at the 1st, 2nd, 3rd, 4th, 5th and 10th presentation (REFERENCES.md)
PAPER_5_WAY = {
    "MANN (paper)": (36.4, 82.8, 91.0, 92.6, 94.9, 98.1),
    "LSTM (paper)": (24.4, 49.5, 55.3, 61.0, 63.6, 62.5),
}
PAPER_PRESENTATIONS = (1, 2, 3, 4, 5, 10)


@dataclass
class MemoryTrace:
    """One episode run through a MANN, step by step."""

    episode: SequenceEpisode
    scores: torch.Tensor  # [steps, ways]
    read_weights: torch.Tensor  # [steps, heads, slots], w^r_t
    write_weights: torch.Tensor  # [steps, heads, slots], w^w_t
    usage: torch.Tensor  # [steps, slots], w^u_t
    memory: torch.Tensor  # [steps, slots, width], M_t

    @property
    def predictions(self) -> torch.Tensor:
        return self.scores.argmax(-1)  # [steps]

    def holder(self, step: int) -> np.ndarray:
        """For each slot, the label of the first step that wrote to it with weight 0.5 or more (up to `step`): the
        drawing the row was made for, whose label a MANN with write_to_last adds at the next step; -1 if none."""
        written = self.write_weights[: step + 1].sum(1) >= 0.5  # [steps, slots]
        first = written.to(torch.uint8).argmax(0)  # [slots], the first step that wrote (0 if none)
        labels = self.episode.labels[first].numpy().copy()
        labels[~written.any(0).numpy()] = -1
        return labels


def memory_trace(learner, episode: SequenceEpisode) -> MemoryTrace:
    """Run `learner` (a MemoryAugmentedNetwork, in eval mode) over one episode and record every step."""
    with evaluation_mode(learner) as device, torch.no_grad():
        scores, _, trace = learner.unroll(episode.images[None].to(device), episode.labels[None].to(device), record=True)
    memory_states = [state[2] for state in trace]  # (hidden, cell, memory) per step

    def stack(name):  # one field of the memory state, over the steps of the episode
        return torch.stack([getattr(state, name)[0] for state in memory_states]).cpu()

    return MemoryTrace(
        episode,
        scores[0, :, : episode.ways].cpu(),
        stack("read_weights"),
        stack("write_weights"),
        stack("usage"),
        stack("memory"),
    )


def unseen_label_guess(labels: torch.Tensor, ways: int) -> float:
    """Expected accuracy, on the first drawing of each class, of guessing uniformly among the labels not shown yet.

    labels: [steps] or [episodes, steps], each in 0..ways-1. By step t the labels of steps 1..t-1 have all been
    given (each one step late), so a class's first drawing must take one of the labels not seen so far: with k
    classes already shown the guess is right with probability 1 / (ways - k). Averaged over the first drawings.
    """
    labels = torch.as_tensor(labels).reshape(-1, labels.shape[-1])  # [episodes, steps]
    if labels.min() < 0 or labels.max() >= ways:
        raise ValueError(f"labels must lie in 0..{ways - 1} for {ways} ways, got {labels.min()}..{labels.max()}")
    chances = []
    for episode in labels.tolist():
        for step, label in enumerate(episode):
            if label not in episode[:step]:  # a class's first drawing
                chances.append(1.0 / (ways - len(set(episode[:step]))))
    return sum(chances) / len(chances)


def _used_slots(trace: MemoryTrace, threshold: float = 0.05) -> np.ndarray:
    """The slots that some step wrote to or read from with weight above `threshold`, in order."""
    touched = (trace.write_weights.sum(1) > threshold) | (trace.read_weights.sum(1) > threshold)  # [steps, slots]
    return np.flatnonzero(touched.any(0).numpy())


def plot_addressing(trace: MemoryTrace):
    """Write weights (left) and read weights (right), summed over heads, for every step of the episode: rows are
    steps, labelled with the true label and its presentation number, columns the memory slots used."""
    slots = _used_slots(trace)
    labels = trace.episode.labels
    number = presentations(labels)
    rows = [f"{int(label)} ({int(n)})" for label, n in zip(labels, number)]
    figure, axes = plt.subplots(1, 2, figsize=(11, 0.16 * len(labels) + 1.8), sharey=True)
    for ax, weights, title in (
        (axes[0], trace.write_weights, "write weights $w^w_t$"),
        (axes[1], trace.read_weights, "read weights $w^r_t$"),
    ):
        image = weights.sum(1)[:, slots].numpy()  # [steps, used slots]
        ax.imshow(
            image, aspect="auto", cmap="viridis", vmin=0, vmax=max(1.0, float(image.max())), interpolation="nearest"
        )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(f"memory slot ({len(slots)} of {weights.shape[-1]} used)")
        ax.set_xticks(range(0, len(slots), max(1, len(slots) // 10)))
        ax.set_xticklabels([int(slots[i]) for i in range(0, len(slots), max(1, len(slots) // 10))], fontsize=7)
    axes[0].set_yticks(range(len(rows)))
    axes[0].set_yticklabels(rows, fontsize=6)
    axes[0].set_ylabel("step: true label (presentation)")
    correct = (trace.predictions == labels).numpy()
    for step in np.flatnonzero(~correct):
        axes[1].annotate(
            "✗",
            (len(slots) - 0.5, step),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=6,
            color="red",
            annotation_clip=False,
        )
    figure.suptitle("One episode through the memory (red ✗: wrong prediction at that step)", fontsize=10)
    figure.tight_layout()
    return figure


def plot_memory(trace: MemoryTrace, step: int | None = None):
    """The memory matrix M_t at one step (default: the last): the used rows, each labelled with the label of the
    step that first wrote to it (MemoryTrace.holder); rows made for drawings of one class share a colour."""
    step = len(trace.episode.labels) - 1 if step is None else step
    slots = _used_slots(trace)
    holders = trace.holder(step)[slots]
    memory = trace.memory[step][slots].numpy()  # [used slots, width]
    figure, (ax, bar) = plt.subplots(
        1, 2, figsize=(8, 0.14 * len(slots) + 1.6), sharey=True, gridspec_kw={"width_ratios": [12, 1]}
    )
    limit = float(np.abs(memory).max()) or 1.0
    ax.imshow(memory, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_yticks(range(len(slots)))
    ax.set_yticklabels([f"slot {int(s)}" for s in slots], fontsize=6)
    ax.set_xlabel("memory width (what a row holds)")
    ax.set_title(f"memory $M_t$ after step {step + 1} of {len(trace.episode.labels)}", fontsize=10)
    colours = plt.get_cmap("tab10")
    bar.imshow([[colours(int(h)) if h >= 0 else (1, 1, 1, 1)] for h in holders], aspect="auto", interpolation="nearest")
    for row, holder in enumerate(holders):
        if holder >= 0:
            bar.text(0, row, str(int(holder)), ha="center", va="center", fontsize=6)
    bar.set_xticks([])
    bar.set_title("label", fontsize=8)
    figure.tight_layout()
    return figure


def plot_presentation_accuracy(results: dict, paper: dict | None = None):
    """Accuracy by instance presentation for several learners ({name: PresentationAccuracy}) with 95% CIs, and
    optionally published curves ({name: accuracies at PAPER_PRESENTATIONS}, dashed)."""
    figure, ax = plt.subplots(figsize=(6.5, 3.6))
    for name, result in results.items():
        numbers = np.arange(1, result.instances + 1)
        (line,) = ax.plot(numbers, 100 * result.mean, marker="o", label=f"{name}")
        ax.fill_between(
            numbers,
            100 * (result.mean - result.ci95),
            100 * (result.mean + result.ci95),
            color=line.get_color(),
            alpha=0.2,
        )
    for name, values in (paper or {}).items():
        ax.plot(PAPER_PRESENTATIONS, values, linestyle="--", marker=".", alpha=0.7, label=name)
    first = next(iter(results.values()))
    ax.axhline(100 / first.ways, color="gray", linewidth=1, linestyle=":", label="chance")
    ax.set_xlabel("presentation of a class within the episode (1st, 2nd, ...)")
    ax.set_ylabel("accuracy %")
    ax.set_ylim(0, 100)
    ax.set_xticks(np.arange(1, first.instances + 1))
    ax.set_title(f"{first.ways} classes, {first.episodes} {first.split} episodes of {first.dataset}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return figure


def plot_slow_and_fast(
    training: dict, result, names: tuple[str, str] = ("MANN", "LSTM"), slow_measure: str = "meta-validation accuracy %"
):
    """Two time scales of learning. Left, slow: an accuracy over meta-training episodes, as the weights change
    ({name: (episodes, accuracies)}; `slow_measure` names it, e.g. the 5-way 1-shot meta-validation accuracy).
    Right, fast: within one episode of fixed weights, accuracy by presentation as the memory fills
    ({name: PresentationAccuracy})."""
    figure, (slow, fast) = plt.subplots(1, 2, figsize=(11, 3.4))
    for name in names:
        episodes, accuracies = training[name]
        slow.plot(episodes, 100 * np.asarray(accuracies), marker=".", label=name)
        fast.plot(np.arange(1, result[name].instances + 1), 100 * result[name].mean, marker="o", label=name)
    slow.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:g}k" if value else "0"))
    slow.set_xlabel("meta-training episodes seen (weights change: slow, across tasks)")
    slow.set_ylabel(slow_measure)
    fast.set_xlabel("presentation within one episode (memory changes: fast, within a task)")
    fast.set_ylabel("test accuracy %")
    for ax in (slow, fast):
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


class Stepper:
    """A slider over the steps of one episode, a button for a new episode, a line of text and a figure. A subclass
    says what an episode is (`restart` draws one, then calls `draw`), what one step says (`describe`) and shows
    (`figure`)."""

    def __init__(self, steps: int, label: str = "step", new: str = "new episode"):
        self.step = widgets.IntSlider(0, min=0, max=steps - 1, description=label, continuous_update=False)
        self.new_episode = widgets.Button(description=new, icon="refresh")
        self.picture = widgets.Image(format="png")
        self.note = widgets.HTML()
        self.step.observe(lambda change: self.draw(), names="value")
        self.new_episode.on_click(lambda button: self.restart())
        self.widget = widgets.VBox([widgets.HBox([self.step, self.new_episode]), self.note, self.picture])
        self.restart()

    def restart(self):
        raise NotImplementedError

    def describe(self, step: int) -> str:
        raise NotImplementedError

    def figure(self, step: int):
        raise NotImplementedError

    def draw(self):
        step = self.step.value
        self.note.value = html.escape(self.describe(step))
        self.picture.value = figure_png(self.figure(step))

    def _ipython_display_(self):
        display(self.widget)


class EpisodeStepper(Stepper):
    """Step through one test episode of a MANN and watch the memory change: the image shown at step t, the label
    given with it (the previous step's), the prediction, and the write and read weights and memory rows so far."""

    def __init__(self, learner, dataset, ways: int = 5, instances: int = 6, split: str = "test", seed: int = 0):
        self.learner = learner
        self.sequences = EpisodeSequences(dataset, split, ways=ways, instances=instances, seed=seed)
        super().__init__(ways * instances)

    def restart(self):
        self.trace = memory_trace(self.learner, self.sequences.sample())
        self.draw()

    def describe(self, step: int) -> str:
        labels = self.trace.episode.labels
        shown = "none (first step)" if step == 0 else str(int(labels[step - 1]))
        predicted, true = int(self.trace.predictions[step]), int(labels[step])
        verdict = "right" if predicted == true else "wrong"
        return (
            f"step {step + 1}: label shown with the image: {shown}; predicted {predicted}, true {true} ({verdict}); "
            f"presentation {int(presentations(labels)[step])} of this class"
        )

    def figure(self, step: int):
        """The image at `step`, and the write weights, read weights and memory rows up to it."""
        trace = self.trace
        slots = _used_slots(trace)
        figure, axes = plt.subplots(1, 4, figsize=(12, 3), gridspec_kw={"width_ratios": [1, 3, 3, 3]})
        axes[0].imshow(trace.episode.images[step, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
        axes[0].set_title(f"x_{step + 1}", fontsize=9)
        axes[0].axis("off")
        for ax, weights, title in (
            (axes[1], trace.write_weights, "writes so far"),
            (axes[2], trace.read_weights, "reads so far"),
        ):
            image = np.full((len(trace.episode.labels), len(slots)), np.nan)
            image[: step + 1] = weights[: step + 1].sum(1)[:, slots].numpy()
            ax.imshow(image, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
            ax.axhline(step, color="red", linewidth=0.8)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("slot")
            ax.set_ylabel("step")
        memory = trace.memory[step][slots].numpy()
        limit = float(trace.memory[:, slots].abs().max()) or 1.0
        axes[3].imshow(memory, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        axes[3].set_title("memory rows now", fontsize=9)
        axes[3].set_xlabel("width")
        axes[3].set_ylabel("used slot")
        figure.tight_layout()
        return figure


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


def _copy_slots(weights: torch.Tensor, threshold: float = 0.05) -> slice:
    """The smallest run of slots holding every weight above `threshold`, [steps, slots] summed over heads."""
    used = np.flatnonzero((weights > threshold).any(0).numpy())
    return slice(int(used.min()), int(used.max()) + 1) if len(used) else slice(0, weights.shape[-1])


def plot_copy_weightings(trace: CopyTrace, step: int | None = None):
    """The paper's figure 6: above, the inputs and the outputs over time; below, where the write heads write and
    the read heads read (weights summed over heads, over the memory slots used), one column per step.
    step: show only the steps up to this one (counted from 0), marked by a dotted line, as a stepper does."""
    steps, length = len(trace.inputs), len(trace.targets)
    writes, reads = trace.write_weights.sum(1), trace.read_weights.sum(1)  # [steps, slots]
    slots = _copy_slots(torch.cat([writes, reads]))
    outputs = trace.outputs.clone()  # [steps, bits]
    if step is not None:
        writes, reads = writes.clone(), reads.clone()
        for later in (writes, reads, outputs):
            later[step + 1 :] = float("nan")  # not happened yet
    figure, axes = plt.subplots(2, 2, figsize=(10, 5.5), sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    panels = (
        (axes[0, 0], trace.inputs.T, "inputs: the sequence, then the delimiter (last row)", "Greys"),
        (axes[0, 1], outputs.T, "outputs: the probability of each bit", "Greys"),
        (axes[1, 0], writes[:, slots].T, "write weights $w^w_t$", "viridis"),
        (axes[1, 1], reads[:, slots].T, "read weights $w^r_t$", "viridis"),
    )
    for ax, image, title, colours in panels:
        ax.imshow(image.numpy(), aspect="auto", cmap=colours, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axvline(length + 0.5, color="tab:red", linewidth=0.8)  # after the delimiter: the recall
        if step is not None:
            ax.axvline(step, color="tab:orange", linewidth=1.2, linestyle=":")
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


class CopyStepper(Stepper):
    """Step through one copy sequence of a Neural Turing Machine: where the write head writes while the sequence
    is shown, and where the read head reads while it is recalled."""

    def __init__(self, learner, copy, length: int = 10, split: str = "test", seed: int = 0):
        self.learner, self.length = learner, length
        self.sequences = copy.sampler(split, shots=length, seed=seed)
        super().__init__(2 * length + 1, new="new sequence")

    def restart(self):
        self.trace = copy_trace(self.learner, self.sequences.sample())
        self.draw()

    def describe(self, step: int) -> str:
        trace, length = self.trace, self.length
        written = int(trace.write_weights[step].sum(0).argmax())
        read = int(trace.read_weights[step].sum(0).argmax())
        if step < length:
            return f"step {step + 1}: input vector {step + 1} of {length}; the write head is mostly on slot {written}"
        if step == length:
            return f"step {step + 1}: the delimiter, the sequence has ended; the read head is mostly on slot {read}"
        recalled = step - length  # 1..length
        wrong = int(((trace.outputs[step] > 0.5) != (trace.targets[recalled - 1] > 0.5)).sum())
        return (
            f"step {step + 1}: recall of vector {recalled} of {length}; the read head is mostly on slot {read}; "
            f"{wrong} of {trace.targets.shape[1]} bits wrong"
        )

    def figure(self, step: int):
        return plot_copy_weightings(self.trace, step=step)


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


class StoryStepper(Stepper):
    """Step through the questions of one story: where each hop of an end-to-end memory network looks to answer."""

    def __init__(self, learner, stories, shots: int = 12, queries: int = 3, split: str = "test", seed: int = 0):
        self.learner, self.stories = learner, stories
        self.sampler = stories.sampler(split, shots=shots, queries=queries, seed=seed)
        super().__init__(queries, label="question", new="new story")

    def restart(self):
        self.story = self.sampler.sample()
        self.draw()

    def describe(self, step: int) -> str:
        question, answer = self.story.query_x[step], self.stories.vocabulary[int(self.story.query_y[step])]
        return f"question {step + 1} of {len(self.story.query_x)}: {self.stories.text(question)}? The answer: {answer}"

    def figure(self, step: int):
        return plot_story_attention(self.learner, self.stories, self.story, question=step)
